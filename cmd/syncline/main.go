// Command syncline is Syncline's operator CLI and all-in-one dev mode; see
// `syncline --help` and README.md.
package main

import (
	"os"

	"github.com/syncline/syncline/pkg/cli"
)

func main() { os.Exit(cli.Run()) }
