// Command headcount counts unique users per time window in a stream of JSON events.
//
// This file only dispatches subcommands; each subcommand wires its flags to
// packages under internal/ in a file of its own (run.go, gen.go, ...).
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // one static binary: --tz works where the machine has no zone files

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/version"
)

const usage = `headcount: unique users per time window in a stream of JSON events

Usage:
  headcount demo                         zero set-up: embedded Kafka, live traffic, live counts
  headcount run  --in SRC --out DST      count unique users per window (files, stdin, Kafka)
  headcount gen  [flags]                 generate realistic traffic (JSON lines)
  headcount produce --in FILE --out kafka://HOST:PORT/TOPIC   load JSON lines into Kafka
  headcount bench --in FILE              where the time goes: read, parse, full pipeline
  headcount version                      the version, commit and Go of this binary

Run "headcount COMMAND --help" for the flags of a command. Every flag can also
be set by an environment variable HEADCOUNT_<FLAG> (for example HEADCOUNT_LATENESS=30s).
`

type command func(args []string) int

var commands = map[string]command{}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	name := os.Args[1]
	switch name {
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	case "version", "--version", "-version":
		fmt.Println(version.Read())
		// Which stage 1 this CPU gets (AVX-512, AVX2, or none: scalar).
		fmt.Println("frame parser:", frame.Path())
		return
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "headcount: unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
	os.Exit(cmd(os.Args[2:]))
}
