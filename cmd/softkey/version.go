package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// moduleVersion is the version of the softkey module this binary was built
// from, or "devel" when the build does not record one (go run, go build in
// the work tree).
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

// deviceVersion turns a module version such as v1.2.3 into the three
// version bytes that CTAPHID INIT reports; other versions give 0.0.0.
func deviceVersion(v string) [3]byte {
	var out [3]byte
	v, ok := strings.CutPrefix(v, "v")
	if !ok {
		return out
	}
	v, _, _ = strings.Cut(v, "-")
	v, _, _ = strings.Cut(v, "+")
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return [3]byte{}
		}
		out[i] = byte(n)
	}
	return out
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of softkey",
		Long: `Print the version of softkey: the module version recorded in the binary
("devel" for a build from a work tree), the Go version and the platform.`,
		Example: "  softkey version",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "softkey %s (%s %s/%s)\n",
				moduleVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
