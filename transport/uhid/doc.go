// Package uhid makes a CTAPHID security key that the Linux kernel sees as a
// USB HID device, through /dev/uhid (Documentation/hid/uhid.rst). Browsers,
// OpenSSH, libfido2 and systemd-cryptenroll find it by enumeration as they
// find a real key, on a /dev/hidrawN node the kernel creates for it.
//
// # Life of a device
//
// [Open] opens /dev/uhid and writes UHID_CREATE2 with the identity from
// [Config] (name, serial, vendor and product IDs, bus USB) and a FIDO report
// descriptor: usage page 0xF1D0, usage CTAPHID, 64-byte input and output
// reports (CTAP 2.1 §11.2.8.1). The kernel adds a HID device; hid-generic
// binds it and hidraw gives it a node. Each report a client writes to that
// node arrives as UHID_OUTPUT and comes out of [Wire.ReadReport]; each
// [Wire.WriteReport] goes to the clients as UHID_INPUT2. [Wire.Close]
// writes UHID_DESTROY, which unplugs the device, and closes /dev/uhid.
//
// The encoding of the events (include/uapi/linux/uhid.h) is in event.go,
// apart from the device, so that it can be checked against the kernel's
// layout without a kernel.
//
// # Permissions
//
// Opening /dev/uhid needs write access to it, which distributions give to
// root only: whoever can create HID devices can also create a keyboard and
// type into the session. [ErrNoDevice] and [ErrPermission] say what is
// missing; softkey ships a udev rule granting a dedicated group access
// (cmd/softkey/udev/70-softkey-uhid.rules).
//
// Only Linux has uhid; elsewhere [Open] fails with [ErrNoDevice].
package uhid
