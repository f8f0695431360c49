// Package cli holds what every subcommand shares: flag sets whose flags can
// also be set from HEADCOUNT_* environment variables.
package cli
