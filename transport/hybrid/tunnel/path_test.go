package tunnel

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTunnelPath(t *testing.T) {
	good := []struct {
		path string
		want Route
	}{
		{"/cable/new/000102030405060708090a0b0c0d0e0f",
			Route{Kind: KindNew, TunnelID: [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}},
		{"/cable/connect/2A0000/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
			Route{Kind: KindConnect, RoutingID: [3]byte{0x2a, 0, 0}, TunnelID: [16]byte{
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
		{"/cable/contact/AAEC_-8", Route{Kind: KindContact, ContactID: []byte{0, 1, 2, 0xff, 0xef}}},
	}
	for _, tt := range good {
		got, err := ParseTunnelPath(tt.path)
		if err != nil {
			t.Errorf("ParseTunnelPath(%q): %v", tt.path, err)
			continue
		}
		if got.Kind != tt.want.Kind || got.TunnelID != tt.want.TunnelID || got.RoutingID != tt.want.RoutingID ||
			!bytes.Equal(got.ContactID, tt.want.ContactID) {
			t.Errorf("ParseTunnelPath(%q) = %+v, want %+v", tt.path, got, tt.want)
		}
	}
	const id = "000102030405060708090a0b0c0d0e0f"
	bad := []string{
		"",
		"/",
		"/cable/new/",
		"/cable/new/" + id[:31],
		"/cable/new/" + id + "0",
		"/cable/new/" + id + "/",
		"/cable/new/" + id[:30] + "zz",
		"/cable/new//" + id,
		"/cable/NEW/" + id,
		"cable/new/" + id,
		"//cable/new/" + id,
		"/cable/new/" + id[:30] + "%41",
		"/cable/connect/" + id,
		"/cable/connect/2a00/" + id,
		"/cable/connect/2a0000/" + id + "/x",
		"/cable/connect/2a0000",
		"/cable/contact/",
		"/cable/contact/AAEC=",
		"/cable/contact/AAF",  // non-canonical trailing bits
		"/cable/contact/AA+/", // standard, not URL, alphabet
		"/cable/contact/" + strings.Repeat("A", 1000),
		"/cable/other/" + id,
	}
	for _, p := range bad {
		if r, err := ParseTunnelPath(p); err == nil {
			t.Errorf("ParseTunnelPath(%q) = %+v, want an error", p, r)
		}
	}
}

// FuzzParseTunnelPath checks that the parser never panics, and that what
// it accepts is what Path writes back, up to the case of hex digits.
func FuzzParseTunnelPath(f *testing.F) {
	for _, s := range []string{
		"/cable/new/000102030405060708090a0b0c0d0e0f",
		"/cable/connect/2A0000/000102030405060708090A0B0C0D0E0F",
		"/cable/contact/AAEC_-8",
		"/cable/contact/AAF",
		"/cable/new/00010203040506070809%a0b0c0d0e0f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, err := ParseTunnelPath(path)
		if err != nil {
			return
		}
		back := r.Path()
		if r.Kind == KindContact {
			if back != path {
				t.Fatalf("ParseTunnelPath(%q).Path() = %q", path, back)
			}
		} else if !strings.EqualFold(back, path) || !strings.HasPrefix(path, "/cable/") {
			t.Fatalf("ParseTunnelPath(%q).Path() = %q", path, back)
		}
		again, err := ParseTunnelPath(back)
		if err != nil || again.Kind != r.Kind || again.TunnelID != r.TunnelID || again.RoutingID != r.RoutingID ||
			!bytes.Equal(again.ContactID, r.ContactID) {
			t.Fatalf("reparsing %q: %+v, %v; want %+v", back, again, err, r)
		}
	})
}

func TestCloseReason(t *testing.T) {
	for _, in := range []string{"", "short", strings.Repeat("x", 200), strings.Repeat("é", 100)} {
		got := closeReason(in)
		if len(got) > 123 || !strings.HasPrefix(in, got) || !utf8.ValidString(got) || (len(in) <= 123 && got != in) {
			t.Errorf("closeReason(%d bytes) = %q", len(in), got)
		}
	}
}
