package uhid

// reportDescriptor is the HID report descriptor of a FIDO authenticator
// (CTAP 2.1 §11.2.8.1, "HID report descriptor and device discovery"): one
// application collection with the FIDO Alliance usage page 0xF1D0 and usage
// CTAPHID (0x01), a 64-byte input report and a 64-byte output report, no
// report IDs. Clients find security keys by this usage page alone (Chrome,
// Firefox, libfido2), and systemd's fido_id (rules.d/60-fido-id.rules)
// looks for usage 0xF1D00001 to tag the hidraw node ID_SECURITY_TOKEN=1,
// which 70-uaccess.rules turns into access for the logged-in user.
var reportDescriptor = [...]byte{
	0x06, 0xD0, 0xF1, // Usage Page (FIDO Alliance, 0xF1D0)
	0x09, 0x01, //       Usage (CTAPHID)
	0xA1, 0x01, //       Collection (Application)
	0x09, 0x20, //         Usage (Input Report Data)
	0x15, 0x00, //         Logical Minimum (0)
	0x26, 0xFF, 0x00, //   Logical Maximum (255)
	0x75, 0x08, //         Report Size (8 bits)
	0x95, 0x40, //         Report Count (64)
	0x81, 0x02, //         Input (Data, Variable, Absolute)
	0x09, 0x21, //         Usage (Output Report Data)
	0x15, 0x00, //         Logical Minimum (0)
	0x26, 0xFF, 0x00, //   Logical Maximum (255)
	0x75, 0x08, //         Report Size (8 bits)
	0x95, 0x40, //         Report Count (64)
	0x91, 0x02, //         Output (Data, Variable, Absolute)
	0xC0, //             End Collection
}
