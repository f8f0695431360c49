package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvName is the environment variable that sets flag name: HEADCOUNT_ and the
// name in upper case with dashes as underscores ("max-jump" -> HEADCOUNT_MAX_JUMP).
func EnvName(name string) string {
	return "HEADCOUNT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// EnvError is a flag's environment variable whose value the flag refuses.
// The flag set reports its own command-line errors on its output; an
// EnvError it has not seen, so the command prints it.
type EnvError struct {
	Name, Value string // HEADCOUNT_<FLAG> and its value
	Err         error  // the flag's error
}

func (e *EnvError) Error() string { return fmt.Sprintf("%s=%q: %v", e.Name, e.Value, e.Err) }
func (e *EnvError) Unwrap() error { return e.Err }

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable. The command line wins over the
// environment, which wins over the default. A bad environment value is an
// *EnvError.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = &EnvError{Name: EnvName(f.Name), Value: v, Err: e}
			}
		}
	})
	return err
}
