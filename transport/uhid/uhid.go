package uhid

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/softkeydev/softkey/transport/ctaphid"
)

// DefaultPath is where the kernel's uhid device lives.
const DefaultPath = "/dev/uhid"

// DefaultName is the device name used when [Config.Name] is empty.
const DefaultName = "softkey"

// Where softkey's udev rule and group are, for error messages.
const (
	udevRule  = "cmd/softkey/udev/70-softkey-uhid.rules"
	udevGroup = "softkey"
)

// Errors from [Open] that the user can fix. Open wraps them together with
// the system error, so errors.Is finds both.
var (
	// ErrNoDevice means there is no uhid device to open: /dev/uhid is
	// missing, or no driver answers behind it, because the uhid module is
	// not loaded (or the system is not Linux).
	ErrNoDevice = errors.New("uhid: no uhid device")
	// ErrPermission means /dev/uhid exists but this user may not open it
	// for writing.
	ErrPermission = errors.New("uhid: no permission to use the uhid device")
)

// Config describes the device to create. Zero values are useful: the
// device is called [DefaultName], has no serial, and is created through
// [DefaultPath].
type Config struct {
	// Name is the product name clients show (hid_device.name, HID_NAME),
	// at most 127 bytes.
	Name string
	// Serial is the serial number (hid_device.uniq, HID_UNIQ), at most
	// 63 bytes.
	Serial string
	// VendorID and ProductID are the USB IDs the device claims.
	VendorID, ProductID uint16
	// Version is the device's release number (hid_device.version).
	Version uint32
	// Path is the uhid device, DefaultPath when empty.
	Path string
	// Logger receives a debug line for every event that is not a report;
	// nil discards them.
	Logger *slog.Logger

	// open opens the uhid device; nil means openDevice. Tests put a socket
	// in its place.
	open func(path string) (*os.File, error)
}

// phys is the physical path the device reports (hid_device.phys,
// HID_PHYS): no bus path, since there is no bus.
const phys = "softkey"

// Wire is a uhid device carrying CTAPHID reports. It implements
// ctaphid.Wire. ReadReport must not be called concurrently with itself;
// WriteReport and Close may be called from any goroutine.
type Wire struct {
	f      *os.File
	path   string
	name   string
	logger *slog.Logger
	buf    []byte // one whole event; see event.go for why it must be whole

	writeMu sync.Mutex // one event per write, whole

	closeOnce sync.Once
	closeErr  error
}

var _ ctaphid.Wire = (*Wire)(nil)

// Open creates a FIDO HID device through the uhid device at cfg.Path:
// it opens it and writes UHID_CREATE2 with bus USB, the IDs and strings of
// cfg and a FIDO report descriptor. The kernel then adds the device and
// its hidraw node asynchronously (a worker in uhid.c), so the node may
// appear a little after Open returns.
//
// An error wrapping [ErrNoDevice] or [ErrPermission] says how to fix it.
func Open(cfg Config) (*Wire, error) {
	path := cmp.Or(cfg.Path, DefaultPath)
	name := cmp.Or(cfg.Name, DefaultName)
	create, err := marshalEvent(create2Event{
		Name:       name,
		Phys:       phys,
		Uniq:       cfg.Serial,
		Bus:        busUSB,
		Vendor:     uint32(cfg.VendorID),
		Product:    uint32(cfg.ProductID),
		Version:    cfg.Version,
		Descriptor: reportDescriptor[:],
	})
	if err != nil {
		return nil, fmt.Errorf("uhid: %w", err)
	}
	open := cfg.open
	if open == nil {
		open = openDevice
	}
	f, err := open(path)
	if err != nil {
		return nil, openError(path, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Wire{f: f, path: path, name: name, logger: logger, buf: make([]byte, eventSize)}
	if err := w.write(create); err != nil {
		f.Close()
		return nil, fmt.Errorf("uhid: creating the device through %s: %w", path, err)
	}
	logger.Debug("uhid: created", "name", name, "serial", cfg.Serial,
		"vendor", fmt.Sprintf("%04x", cfg.VendorID), "product", fmt.Sprintf("%04x", cfg.ProductID))
	return w, nil
}

// deviceError is an error opening the uhid device that the user can fix:
// kind is ErrNoDevice or ErrPermission, err the system's error.
type deviceError struct {
	kind error
	msg  string
	err  error
}

func (e *deviceError) Error() string   { return e.msg }
func (e *deviceError) Unwrap() []error { return []error{e.kind, e.err} }

// openError words an error from opening the uhid device at path, naming
// the fix where there is one.
func openError(path string, err error) error {
	reason := err
	var errno syscall.Errno
	if errors.As(err, &errno) {
		reason = errno
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &deviceError{ErrNoDevice,
			fmt.Sprintf("uhid: %s does not exist: load the module with `sudo modprobe uhid`", path), err}
	case errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO), errors.Is(err, errors.ErrUnsupported):
		// A static node without a driver behind it (the module is not
		// loaded and could not be), or not Linux at all.
		return &deviceError{ErrNoDevice,
			fmt.Sprintf("uhid: %s does not work (%v): load the module with `sudo modprobe uhid`", path, reason), err}
	case errors.Is(err, fs.ErrPermission): // EACCES, EPERM
		return &deviceError{ErrPermission,
			fmt.Sprintf("uhid: %s is not writable (%v): install softkey's udev rule %s and join the group %s, "+
				"or run `sudo setfacl -m u:$USER:rw %s` until the next boot", path, reason, udevRule, udevGroup, path), err}
	}
	return fmt.Errorf("uhid: opening %s: %w", path, err)
}

// Name returns the device's name, as clients see it.
func (w *Wire) Name() string { return w.name }

// Path returns the uhid device the wire was created through, not the
// hidraw node clients open.
func (w *Wire) Path() string { return w.path }

// ReadReport returns the next report a client wrote to the device, as the
// 64 bytes of a CTAPHID packet. It reads events until an output report
// comes: it logs the device's life cycle (UHID_START, UHID_OPEN,
// UHID_CLOSE, UHID_STOP) and answers the kernel's report requests, which
// would otherwise keep the kernel waiting for 5 s. Once the wire is
// closed it returns an error wrapping os.ErrClosed.
func (w *Wire) ReadReport() ([]byte, error) {
	for {
		n, err := w.f.Read(w.buf)
		if err != nil {
			return nil, fmt.Errorf("uhid: reading %s: %w", w.path, err)
		}
		ev, err := decodeEvent(w.buf[:n])
		if err != nil {
			w.logger.Warn("uhid: ignoring an event", "error", err)
			continue
		}
		report, err := w.handle(ev)
		if err != nil {
			return nil, err
		}
		if report != nil {
			return report, nil
		}
	}
}

// handle acts on one event from the kernel and returns the report it
// carries, if any.
func (w *Wire) handle(ev event) ([]byte, error) {
	switch e := ev.(type) {
	case outputEvent:
		if e.RType != outputReport {
			w.logger.Debug("uhid: ignoring a report", "event", eventOutput, "type", e.RType, "size", len(e.Data))
			return nil, nil
		}
		report, err := outputToReport(e.Data)
		if err != nil {
			w.logger.Debug("uhid: ignoring a report", "event", eventOutput, "error", err)
			return nil, nil
		}
		return report, nil
	case getReportEvent:
		// The descriptor declares no feature report and nothing to read
		// back; refuse, as hidraw's HIDIOCGFEATURE on a real key fails.
		w.logger.Debug("uhid: refusing", "event", eventGetReport, "id", e.ID, "report", e.RNum, "type", e.RType)
		return nil, w.reply(getReportReplyEvent{ID: e.ID, Err: errnoEIO})
	case setReportEvent:
		// An output report may come this way too (hidraw's HIDIOCSOUTPUT):
		// take it like UHID_OUTPUT. Anything else is refused.
		if e.RType == outputReport {
			if report, err := outputToReport(e.Data); err == nil {
				return report, w.reply(setReportReplyEvent{ID: e.ID})
			}
		}
		w.logger.Debug("uhid: refusing", "event", eventSetReport, "id", e.ID, "report", e.RNum, "type", e.RType)
		return nil, w.reply(setReportReplyEvent{ID: e.ID, Err: errnoEIO})
	case startEvent:
		w.logger.Debug("uhid: a driver bound the device", "event", eventStart, "dev_flags", e.DevFlags)
	default:
		switch t := ev.eventType(); t {
		case eventOpen:
			w.logger.Debug("uhid: a client opened the device", "event", t)
		case eventClose:
			w.logger.Debug("uhid: the last client closed the device", "event", t)
		case eventStop:
			w.logger.Debug("uhid: the driver released the device", "event", t)
		default:
			w.logger.Debug("uhid: ignoring an event", "event", t)
		}
	}
	return nil, nil
}

// reply answers a request of the kernel's.
func (w *Wire) reply(e event) error {
	msg, err := marshalEvent(e)
	if err == nil {
		err = w.write(msg)
	}
	if err != nil {
		return fmt.Errorf("uhid: answering the kernel: %w", err)
	}
	return nil
}

// outputToReport turns an output report as a client wrote it into a
// CTAPHID packet, as a USB HID stack does on its way to a real key
// (usbhid_output_report in drivers/hid/usbhid/hid-core.c): a leading
// report ID 0, which hidraw clients put before the report of a device
// without numbered reports (Documentation/hid/hidraw.rst), is dropped, and
// a short packet is padded with zeros. So the usual 65-byte write, report
// ID 0 and 64 bytes, gives those 64 bytes.
func outputToReport(data []byte) ([]byte, error) {
	if len(data) > 0 && data[0] == 0 {
		data = data[1:]
	}
	if len(data) == 0 || len(data) > ctaphid.ReportSize {
		return nil, fmt.Errorf("%d bytes after the report ID, want 1 to %d", len(data), ctaphid.ReportSize)
	}
	report := make([]byte, ctaphid.ReportSize)
	copy(report, data)
	return report, nil
}

// WriteReport sends a 64-byte report to the device's clients
// (UHID_INPUT2). The kernel hands it to hidraw at once and never blocks:
// a client that does not read loses reports, as with a real key.
func (w *Wire) WriteReport(report []byte) error {
	if len(report) != ctaphid.ReportSize {
		return fmt.Errorf("uhid: report of %d bytes, want %d", len(report), ctaphid.ReportSize)
	}
	msg, err := marshalEvent(input2Event{Data: report})
	if err == nil {
		err = w.write(msg)
	}
	if err != nil {
		return fmt.Errorf("uhid: sending a report: %w", err)
	}
	return nil
}

// write writes one event. The kernel takes an event whole or not at all
// and answers with the count written.
func (w *Wire) write(msg []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	_, err := w.f.Write(msg)
	return err
}

// Close unplugs the device (UHID_DESTROY) and closes the uhid device. A
// ReadReport in progress returns an error wrapping os.ErrClosed. Closing
// the descriptor alone would destroy the device too (uhid_char_release);
// the explicit event makes the unplug happen before Close returns. Later
// calls return the first call's result.
func (w *Wire) Close() error {
	w.closeOnce.Do(func() {
		msg, err := marshalEvent(bareEvent(eventDestroy))
		if err == nil {
			err = w.write(msg)
		}
		if err != nil {
			err = fmt.Errorf("uhid: destroying the device: %w", err)
		}
		if errClose := w.f.Close(); errClose != nil {
			err = errors.Join(err, fmt.Errorf("uhid: closing %s: %w", w.path, errClose))
		}
		w.closeErr = err
	})
	return w.closeErr
}
