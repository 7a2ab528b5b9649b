package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"
)

// qrTranscriptURI is the URI of the QR code of hybrid-cable.md §10.3, as
// in transport/hybrid's tests.
const qrTranscriptURI = "FIDO:/507534658874902144890520810253271960412876791035912279736227586515506461231345404432305085311340208920070633618515609790059716415128245800265340480783106107096654083332"

// writeTestPNG writes img to a PNG file in a temporary directory.
func writeTestPNG(t *testing.T, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "code.png")
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

// TestQRCodePNGRoundTrip renders the §10.3 URI as a PNG with --png's
// writer and reads it back as --qr-image does.
func TestQRCodePNGRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "code.png")
	require.NoError(t, writeQRPNG(path, qrTranscriptURI))
	got, err := readQRImage(path)
	require.NoError(t, err)
	require.Equal(t, qrTranscriptURI, got)

	// The prefix is written in upper case, so a lower-case URI gives the
	// same code.
	lower := "fido:/" + strings.TrimPrefix(qrTranscriptURI, "FIDO:/")
	require.NoError(t, writeQRPNG(path, lower))
	got, err = readQRImage(path)
	require.NoError(t, err)
	require.Equal(t, qrTranscriptURI, got)

	// A code in inverted colours, as a screenshot of a dark terminal
	// shows it, is read too.
	img, err := qrImage(qrTranscriptURI, 4)
	require.NoError(t, err)
	for i := range img.Pix {
		img.Pix[i] = 0xff - img.Pix[i]
	}
	got, err = readQRImage(writeTestPNG(t, img))
	require.NoError(t, err)
	require.Equal(t, qrTranscriptURI, got)
}

// TestQRCodeAlphanumeric checks that the URI is encoded in the
// alphanumeric mode: its 177 characters fit version 6 (41 modules) at
// level L, where the byte mode would need version 8 (49 modules).
func TestQRCodeAlphanumeric(t *testing.T) {
	m, err := qrMatrix(qrTranscriptURI)
	require.NoError(t, err)
	require.Equal(t, 41+2*qrQuietZone, m.GetWidth())
	require.Equal(t, m.GetWidth(), m.GetHeight())
	// The quiet zone is light.
	for i := 0; i < m.GetWidth(); i++ {
		for j := 0; j < qrQuietZone; j++ {
			require.False(t, m.Get(i, j), "module (%d,%d)", i, j)
			require.False(t, m.Get(j, i), "module (%d,%d)", j, i)
		}
	}
}

// TestQRCodeTerminal checks the half-block rendering: its size, its
// characters, and that it holds the code's modules, inverted.
func TestQRCodeTerminal(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeQRTerminal(&buf, qrTranscriptURI))
	m, err := qrMatrix(qrTranscriptURI)
	require.NoError(t, err)
	w, h := m.GetWidth(), m.GetHeight()

	out := buf.String()
	require.True(t, strings.HasSuffix(out, "\n"))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, (h+1)/2, "two module rows per line")
	for i, l := range lines {
		require.Equal(t, w, utf8.RuneCountInString(l), "width of line %d", i)
		require.Empty(t, strings.Trim(l, " ▀▄█"), "characters of line %d", i)
	}
	// The quiet zone's first rows are all light, so drawn.
	for i := 0; i < qrQuietZone/2; i++ {
		require.Equal(t, strings.Repeat("█", w), lines[i])
	}

	// Read the modules back: a drawn half is a light module.
	for y, l := range lines {
		for x, r := range []rune(l) {
			top := r == '█' || r == '▀'
			bottom := r == '█' || r == '▄'
			require.Equal(t, !m.Get(x, 2*y), top, "module (%d,%d)", x, 2*y)
			if 2*y+1 < h {
				require.Equal(t, !m.Get(x, 2*y+1), bottom, "module (%d,%d)", x, 2*y+1)
			} else {
				require.False(t, bottom, "below the last row at x=%d", x)
			}
		}
	}
}

// TestShowHybridQR checks where softkey hybrid qr puts the code and the
// URI, with and without --json, and its --png file.
func TestShowHybridQR(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, showHybridQR(qrTranscriptURI, "", false, &stdout, &stderr))
	require.Empty(t, stderr.String())
	require.True(t, strings.HasSuffix(stdout.String(), "\n"+qrTranscriptURI+"\n"))
	require.Contains(t, stdout.String(), "█")

	stdout.Reset()
	path := filepath.Join(t.TempDir(), "qr.png")
	require.NoError(t, showHybridQR(qrTranscriptURI, path, true, &stdout, &stderr))
	require.Empty(t, stdout.String(), "--json keeps stdout for the outcome")
	require.True(t, strings.HasSuffix(stderr.String(), "\n"+qrTranscriptURI+"\n"))
	got, err := readQRImage(path)
	require.NoError(t, err)
	require.Equal(t, qrTranscriptURI, got)

	err = showHybridQR(qrTranscriptURI, filepath.Join(t.TempDir(), "no", "such", "dir.png"), false, &stdout, &stderr)
	require.ErrorContains(t, err, "writing the QR code")
}

// TestHybridPhoneQRImageErrors checks softkey hybrid phone --qr-image
// with files that hold no usable code: each ends with a clear error and a
// hint, before anything is started.
func TestHybridPhoneQRImageErrors(t *testing.T) {
	dir := t.TempDir()

	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 0xc0
	}
	blankPNG := writeTestPNG(t, blank)

	textCode, err := qrcode.NewQRCodeWriter().Encode("https://example.org/", gozxing.BarcodeFormat_QR_CODE, 200, 200, nil)
	require.NoError(t, err)
	textImg := image.NewGray(image.Rect(0, 0, 200, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			if !textCode.Get(x, y) {
				textImg.SetGray(x, y, color.Gray{Y: 0xff})
			}
		}
	}
	textPNG := writeTestPNG(t, textImg)

	notImage := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notImage, []byte("FIDO:/123\n"), 0o600))

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no QR code", []string{"--qr-image", blankPNG}, []string{"no QR code found in " + blankPNG, "hint: crop the picture"}},
		{"not a FIDO URI", []string{"--qr-image", textPNG}, []string{"QR code is not a FIDO:/ URI", "https://example.org/", "hint: "}},
		{"not an image", []string{"--qr-image", notImage}, []string{"is not a PNG or JPEG image", "hint: --qr-image takes"}},
		{"missing file", []string{"--qr-image", filepath.Join(dir, "missing.png")}, []string{"reading the QR code", "missing.png"}},
		{"both", []string{qrTranscriptURI, "--qr-image", blankPNG}, []string{"not both", "hint: run"}},
		{"neither", nil, []string{"accepts 1 arg (the FIDO:/ URI) or --qr-image FILE, received 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"hybrid", "phone", "--memory"}, tt.args...)
			var stdout, stderr strings.Builder
			code := softkeyMain(context.Background(), args, &stdout, &stderr)
			require.Equal(t, 1, code, "exit code; stderr:\n%s", stderr.String())
			for _, w := range tt.want {
				require.Contains(t, stderr.String(), w)
			}
			require.Empty(t, stdout.String())
		})
	}
}

// TestHybridQRImageThreeProcesses runs a hybrid sign-in as
// TestHybridThreeProcesses does, but hands the code over as an image: the
// desktop writes it with --png and the phone reads it with --qr-image.
func TestHybridQRImageThreeProcesses(t *testing.T) {
	needInterop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()

	tunnelAddr := startTunnelServer(ctx, t, dir)
	advertAddr := freeUDPAddr(t)

	// The desktop writes the PNG before it prints the URI.
	pngPath := filepath.Join(dir, "code.png")
	var qrOut, qrErr syncBuffer
	desktop := exec.CommandContext(ctx, softkeyBin, "hybrid", "qr", "--json", "--png", pngPath,
		"--tunnel", tunnelAddr, "--advert-addr", advertAddr, "--timeout", "25s")
	desktop.Stdout = &qrOut
	desktop.Stderr = &qrErr
	require.NoError(t, desktop.Start())
	for !strings.Contains(qrErr.String(), "FIDO:/") {
		select {
		case <-ctx.Done():
			t.Fatalf("softkey hybrid qr printed no FIDO:/ URI; stderr:\n%s", qrErr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	phone := exec.CommandContext(ctx, softkeyBin, "hybrid", "phone", "--qr-image", pngPath,
		"--tunnel", tunnelAddr, "--advert-addr", advertAddr, "--memory", "--presence", "auto", "--timeout", "25s")
	phoneOut, err := phone.CombinedOutput()
	require.NoError(t, err, "softkey hybrid phone:\n%s", phoneOut)
	require.NoError(t, desktop.Wait(), "softkey hybrid qr:\n%s", qrErr.String())

	var got struct {
		URI               string `json:"uri"`
		SignatureVerified bool   `json:"signatureVerified"`
	}
	require.NoError(t, json.Unmarshal([]byte(qrOut.String()), &got), "stdout of softkey hybrid qr: %q", qrOut.String())
	require.True(t, got.SignatureVerified, "signatureVerified")
	require.Contains(t, qrErr.String(), "█", "the code is drawn on stderr with --json")
	require.Contains(t, qrErr.String(), "\n"+got.URI+"\n")
	uri, err := readQRImage(pngPath)
	require.NoError(t, err)
	require.Equal(t, got.URI, uri)
}
