package main

import (
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/headcount/headcount/internal/logging"
	"github.com/headcount/headcount/internal/progress"
)

// logFlags are --log-format and --log-level, which every command has.
type logFlags struct {
	format logging.Format
	level  slog.Level
}

// addLogFlags defines --log-format and --log-level on fs.
func addLogFlags(fs *flag.FlagSet) *logFlags {
	lf := &logFlags{}
	parsedVar(fs, &lf.format, "log-format", "auto", "how messages on stderr are written: text (for a person: \"headcount: msg key=value\"), json (one JSON object per line: time, level, msg, cmd, attributes) or auto (text)", logging.ParseFormat)
	parsedVar(fs, &lf.level, "log-level", "info", "the least severe messages written on stderr: debug, info, warn or error", logging.ParseLevel)
	return lf
}

// start makes the command's logger slog's default (so the packages that
// log through slog write in its style) and returns it. Run's messages are
// "headcount: ...", the other commands' "headcount NAME: ...".
func (lf *logFlags) start(name string) *logging.Log {
	log := logging.New(os.Stderr, lf.options(name, lf.level))
	slog.SetDefault(log.Logger)
	return log
}

func (lf *logFlags) options(name string, level slog.Level) logging.Options {
	prefix := "headcount"
	if name != "run" {
		prefix += " " + name
	}
	return logging.Options{Format: lf.format, Level: level, Prefix: prefix, Command: name,
		Terminal: lf.format == logging.Text && progress.IsTerminal(os.Stderr)}
}

// startProgress reports progress every interval: a line rewritten in place
// when stderr is a terminal and the log is text, else a log record every
// logEvery.
func startProgress(log *logging.Log, label string, every, logEvery time.Duration, sample func() progress.Sample) (stop func()) {
	if log.Format() == logging.Text && progress.IsTerminal(os.Stderr) {
		return progress.Start(os.Stderr, label, every, sample)
	}
	return progress.Log(log.Logger, logEvery, sample)
}
