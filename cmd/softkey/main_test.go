package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update", false, "rewrite the testscript files with the actual output")

// softkeyBin is the softkey binary the interop tests start, built once by
// TestMain (empty in -short mode, where interop tests skip).
var softkeyBin string

func TestMain(m *testing.M) {
	testscript.Main(buildFirst{m}, map[string]func(){
		"softkey": func() { os.Exit(softkeyMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// buildFirst builds the softkey binary before the tests run, and only in
// the process that runs the tests: testscript.Main calls Run there, and
// not when the test binary is executed as the "softkey" command.
type buildFirst struct{ m *testing.M }

func (b buildFirst) Run() int {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "softkey-interop-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "creating a directory for the softkey binary:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "softkey")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool(), "build", "-o", bin, ".")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "go build -o %s .: %v\n%s", bin, err, out.Bytes())
			return 1
		}
		softkeyBin = bin
	}
	return b.m.Run()
}

// goTool is the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Keep every script away from the real home and vault.
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			env.Setenv("SOFTKEY_VAULT_PASSPHRASE", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitready": cmdWaitReady,
		},
	})
}

// cmdWaitReady waits, at most 30 seconds, for a softkey ready file and sets
// $READY_TRANSPORT and $READY_AT from it:
//
//	waitready FILE
func cmdWaitReady(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitready FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			var r readyInfo
			if err := json.Unmarshal(data, &r); err != nil {
				ts.Fatalf("ready file %s: %v", path, err)
			}
			ts.Setenv("READY_TRANSPORT", r.Transport)
			ts.Setenv("READY_AT", strings.TrimSpace(r.where()))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no ready file %s after 30s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
