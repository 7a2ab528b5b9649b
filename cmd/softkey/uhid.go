package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/transport/uhid"
)

// The uhid transport in softkey run: choosing it, opening it with the
// profile's USB identity, finding the hidraw node it becomes, and hints
// for the errors a user can fix.

// uhidRule is the udev rule softkey ships in udev/70-softkey-uhid.rules,
// for hints that must work without the source tree.
const uhidRule = `KERNEL=="uhid", SUBSYSTEM=="misc", GROUP="softkey", MODE="0660", OPTIONS+="static_node=uhid"`

// defaultTransport picks the wire when --transport is not given: uhid on
// Linux when the uhid device can be opened for writing, else the
// pseudo-terminal. It returns the choice and why, for the log. canOpen
// reports whether path can be opened for reading and writing.
func defaultTransport(goos, path string, canOpen func(path string) error) (transport, reason string) {
	if goos != "linux" {
		return "pty", "uhid is Linux only"
	}
	err := canOpen(path)
	switch {
	case err == nil:
		return "uhid", path + " is writable"
	case errors.Is(err, fs.ErrNotExist):
		return "pty", path + " does not exist (the uhid module is not loaded: sudo modprobe uhid)"
	case errors.Is(err, fs.ErrPermission):
		return "pty", path + ` is not writable: permission denied; see the README section "Use it in your browser"`
	}
	return "pty", fmt.Sprintf("%s cannot be opened: %v", path, errorCause(err))
}

// canOpenReadWrite opens path for reading and writing and closes it
// again. Opening, rather than access(2), also loads the uhid module on
// demand behind a static /dev/uhid node, and fails if there is none.
func canOpenReadWrite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// errorCause is the innermost error of err: "permission denied" rather
// than "open /dev/uhid: permission denied".
func errorCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// uhidConfig is the uhid device for a profile. serial is the profile's
// serial, or one derived for this key: stable for a vault (from its
// directory), random for a key in memory.
func uhidConfig(usb authenticator.USB, firmware uint64, vaultDir string, logger *slog.Logger) (uhid.Config, error) {
	serial := usb.Serial
	if serial == "" {
		var err error
		if serial, err = deriveSerial(vaultDir); err != nil {
			return uhid.Config{}, err
		}
	}
	return uhid.Config{
		Name:      usb.Product,
		Serial:    serial,
		VendorID:  usb.VendorID,
		ProductID: usb.ProductID,
		Version:   uint32(min(firmware, uint64(^uint32(0)))),
		Logger:    logger,
	}, nil
}

// deriveSerial returns 16 hex digits: a hash of the vault directory's
// absolute path, so that a key keeps its serial across restarts and two
// keys with two vaults differ, or random bytes without a vault.
func deriveSerial(vaultDir string) (string, error) {
	var b []byte
	if vaultDir == "" {
		b = make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("choosing a serial number: %w", err)
		}
	} else {
		abs, err := filepath.Abs(vaultDir)
		if err != nil {
			return "", fmt.Errorf("choosing a serial number: %w", err)
		}
		sum := sha256.Sum256([]byte("softkey uhid serial\x00" + abs))
		b = sum[:8]
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// explainUHIDError adds hints to the errors of uhid.Open a user can fix.
func explainUHIDError(err error) error {
	switch {
	case errors.Is(err, uhid.ErrNoDevice):
		return withHints(err,
			"load the uhid module: sudo modprobe uhid",
			"to load it at every boot: echo uhid | sudo tee /etc/modules-load.d/softkey-uhid.conf",
			"or serve the key on a pseudo-terminal instead: softkey run --transport pty")
	case errors.Is(err, uhid.ErrPermission):
		return withHints(err,
			"give the group softkey access to /dev/uhid with softkey's udev rule (cmd/softkey/udev/70-softkey-uhid.rules in its source):",
			"  echo '"+uhidRule+"' | sudo tee /etc/udev/rules.d/70-softkey-uhid.rules",
			"  sudo groupadd -f softkey && sudo usermod -aG softkey $USER",
			"  sudo udevadm control --reload-rules && sudo udevadm trigger --action=add --sysname-match=uhid",
			"  then log out and in again, for the new group to apply",
			"members of that group can create any HID device, a keyboard too: add only users you would let type at your console",
			"or, until the next boot only: sudo setfacl -m u:$USER:rw /dev/uhid",
			"or serve the key on a pseudo-terminal instead: softkey run --transport pty")
	}
	return err
}

// hidrawWait bounds the wait for the hidraw node of a new uhid device:
// the kernel adds the HID device from a worker, then hid-generic binds it.
const hidrawWait = 3 * time.Second

// hidrawIdentity is what a HID device's uevent says of it (hid_uevent in
// drivers/hid/hid-core.c): HID_ID bus:vendor:product in hex, HID_NAME and
// HID_UNIQ.
type hidrawIdentity struct {
	id, name, uniq string
}

// identityOf is the uevent identity of the device cfg creates.
func identityOf(cfg uhid.Config, name string) hidrawIdentity {
	return hidrawIdentity{
		id:   fmt.Sprintf("0003:%08X:%08X", cfg.VendorID, cfg.ProductID),
		name: name,
		uniq: cfg.Serial,
	}
}

// findHidraw waits, at most until ctx ends, for the hidraw node of the
// HID device with identity want and returns its path in /dev. sysfs is
// the sysfs mount, /sys. It looks at
// <sysfs>/class/hidraw/hidrawN/device/uevent, the uevent of each hidraw
// node's HID device. A node matches only if it is the only one that does.
func findHidraw(ctx context.Context, sysfs string, want hidrawIdentity) (string, error) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		path, err := matchHidraw(sysfs, want)
		if err == nil {
			return path, nil
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-tick.C:
		}
	}
}

func matchHidraw(sysfs string, want hidrawIdentity) (string, error) {
	nodes, err := filepath.Glob(filepath.Join(sysfs, "class", "hidraw", "hidraw*"))
	if err != nil {
		return "", err
	}
	var found []string
	for _, node := range nodes {
		got, err := readHIDUevent(filepath.Join(node, "device", "uevent"))
		if err != nil || got != want {
			continue
		}
		found = append(found, filepath.Join("/dev", filepath.Base(node)))
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no hidraw node for HID_ID=%s HID_NAME=%s HID_UNIQ=%s", want.id, want.name, want.uniq)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d hidraw nodes match HID_NAME=%s HID_UNIQ=%s: %s", len(found), want.name, want.uniq, strings.Join(found, ", "))
}

// readHIDUevent reads the identity lines of a HID device's uevent file.
func readHIDUevent(path string) (hidrawIdentity, error) {
	f, err := os.Open(path)
	if err != nil {
		return hidrawIdentity{}, err
	}
	defer f.Close()
	var id hidrawIdentity
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, value, _ := strings.Cut(s.Text(), "=")
		switch key {
		case "HID_ID":
			id.id = strings.ToUpper(value)
		case "HID_NAME":
			id.name = value
		case "HID_UNIQ":
			id.uniq = value
		}
	}
	return id, s.Err()
}
