package main

// QR codes for softkey hybrid: softkey hybrid qr draws the FIDO:/ URI as a
// QR code in the terminal (and as a PNG with --png), and softkey hybrid
// phone --qr-image reads one back from a PNG or JPEG file.
//
// Both directions use github.com/makiuchi-d/gozxing, a pure Go port of
// ZXing (MIT licence): its writer picks the alphanumeric mode for
// "FIDO:/" followed by digits, and its reader finds a code anywhere in a
// photo or screenshot.

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // --qr-image reads JPEG files
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/transport/hybrid"
)

const (
	// qrQuietZone is the light margin around a code, in modules: the four
	// modules ISO/IEC 18004 asks for.
	qrQuietZone = 4
	// qrPNGScale is the size of a module in a --png image, in pixels.
	qrPNGScale = 8
)

// qrMatrix encodes uri as a QR code with its quiet zone, one bit per
// module; a set bit is a dark module. The prefix is written in upper case,
// so that the whole URI is in the alphanumeric mode, as the hybrid
// specification intends (lower case would need the byte mode, a larger
// code).
func qrMatrix(uri string) (*gozxing.BitMatrix, error) {
	if len(uri) >= len(hybrid.URIPrefix) && strings.EqualFold(uri[:len(hybrid.URIPrefix)], hybrid.URIPrefix) {
		uri = hybrid.URIPrefix + uri[len(hybrid.URIPrefix):]
	}
	m, err := qrcode.NewQRCodeWriter().Encode(uri, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: qrQuietZone})
	if err != nil {
		return nil, fmt.Errorf("encoding the QR code: %w", err)
	}
	return m, nil
}

// writeQRTerminal draws uri as a QR code with Unicode half blocks, two
// rows of modules per line of text.
//
// The colours are inverted: a light module is drawn (in the terminal's
// foreground colour) and a dark module is left blank (the background). On
// the usual dark terminal, light text on a dark background, the code thus
// shows dark modules on a light quiet zone, as a scanner expects. On a
// light terminal it shows inverted, which most phone scanners read too;
// --png writes a code in the normal colours.
func writeQRTerminal(w io.Writer, uri string) error {
	m, err := qrMatrix(uri)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, renderQRHalfBlocks(m))
	return err
}

// renderQRHalfBlocks returns the lines of writeQRTerminal. The row below
// an odd last row counts as dark, that is blank.
func renderQRHalfBlocks(m *gozxing.BitMatrix) string {
	w, h := m.GetWidth(), m.GetHeight()
	light := func(x, y int) bool { return y < h && !m.Get(x, y) }
	var b strings.Builder
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x++ {
			switch top, bottom := light(x, y), light(x, y+1); {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// qrImage returns uri as a QR code image in the normal colours (dark
// modules black on white), scale pixels per module, quiet zone included.
func qrImage(uri string, scale int) (*image.Gray, error) {
	m, err := qrMatrix(uri)
	if err != nil {
		return nil, err
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := 0; y < h*scale; y++ {
		for x := 0; x < w*scale; x++ {
			c := color.Gray{Y: 0xff}
			if m.Get(x/scale, y/scale) {
				c = color.Gray{Y: 0}
			}
			img.SetGray(x, y, c)
		}
	}
	return img, nil
}

// writeQRPNG writes uri as a QR code to the PNG file path.
func writeQRPNG(path, uri string) error {
	img, err := qrImage(uri, qrPNGScale)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the QR code: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("writing the QR code to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the QR code to %s: %w", path, err)
	}
	return nil
}

// showHybridQR shows the QR code of softkey hybrid qr: the code, then the
// URI on a line of its own, on stdout, or on stderr with --json (stdout
// then holds only the JSON outcome); and, with --png, the PNG file.
func showHybridQR(uri, pngPath string, json bool, stdout, stderr io.Writer) error {
	if pngPath != "" {
		if err := writeQRPNG(pngPath, uri); err != nil {
			return err
		}
	}
	w := stdout
	if json {
		w = stderr
	}
	if err := writeQRTerminal(w, uri); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, uri)
	return err
}

// errNoQRCode is returned by readQRImage when it finds no QR code.
var errNoQRCode = errors.New("no QR code found")

// readQRImage decodes the QR code in the PNG or JPEG file path and returns
// its FIDO:/ URI, checked with hybrid.ParseURI. A code in inverted colours,
// such as a screenshot of softkey hybrid qr in a dark terminal, is read
// too.
func readQRImage(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the QR code: %w", err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil {
		return "", withHints(fmt.Errorf("reading the QR code: %s is not a PNG or JPEG image: %w", path, err),
			"--qr-image takes a PNG or JPEG picture of the code, such as softkey hybrid qr --png writes")
	}
	text, err := decodeQR(img)
	if err != nil {
		if errors.Is(err, errNoQRCode) {
			return "", withHints(fmt.Errorf("no QR code found in %s (a %s image of %dx%d pixels)",
				path, format, img.Bounds().Dx(), img.Bounds().Dy()),
				"crop the picture to the code, keep its light margin, and make it sharp and evenly lit",
				"or pass the FIDO:/ URI that softkey hybrid qr prints instead of --qr-image")
		}
		return "", fmt.Errorf("reading the QR code in %s: %w", path, err)
	}
	if len(text) < len(hybrid.URIPrefix) || !strings.EqualFold(text[:len(hybrid.URIPrefix)], hybrid.URIPrefix) {
		shown := text
		if len(shown) > 40 {
			shown = shown[:40] + "…"
		}
		return "", withHints(fmt.Errorf("QR code is not a FIDO:/ URI: %s holds %q", path, shown),
			"use the QR code a browser or softkey hybrid qr shows for signing in with a phone")
	}
	if _, err := hybrid.ParseURI(text); err != nil {
		return "", withHints(fmt.Errorf("the QR code in %s: %w", path, err),
			"the code holds a FIDO:/ URI that softkey cannot use; show a fresh code and try again")
	}
	return text, nil
}

// decodeQR returns the text of the QR code in img, trying the inverted
// image when the normal one shows none.
func decodeQR(img image.Image) (string, error) {
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	src := gozxing.NewLuminanceSourceFromImage(img)
	var firstErr error
	for _, s := range []gozxing.LuminanceSource{src, gozxing.NewInvertedLuminanceSource(src)} {
		bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(s))
		if err != nil {
			return "", err
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return res.GetText(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	var nf gozxing.NotFoundException
	if errors.As(firstErr, &nf) {
		return "", errNoQRCode
	}
	return "", firstErr
}

// hybridPhoneArgs checks the arguments of softkey hybrid phone: the URI,
// or none with --qr-image.
func hybridPhoneArgs(qrImage *string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case *qrImage != "" && len(args) > 0:
			return errors.New("pass either the FIDO:/ URI or --qr-image, not both")
		case *qrImage == "" && len(args) != 1:
			return fmt.Errorf("accepts 1 arg (the FIDO:/ URI) or --qr-image FILE, received %d", len(args))
		}
		return nil
	}
}

// hybridPhoneURI returns the URI softkey hybrid phone answers: the
// argument, or the text of the QR code in the --qr-image file.
func hybridPhoneURI(qrImage string, args []string) (string, error) {
	if qrImage != "" {
		return readQRImage(qrImage)
	}
	return args[0], nil
}
