package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

func newTunnelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tunnel",
		Short: "Run a caBLE (hybrid) tunnel server",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTunnelServeCommand())
	return cmd
}

type tunnelServeOptions struct {
	listen     string
	tlsCert    string
	tlsKey     string
	selfSigned bool
	maxTunnels int
	readyFile  string
	logLevel   string
}

func newTunnelServeCommand() *cobra.Command {
	var o tunnelServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve caBLE tunnels until interrupted",
		Long: `Serve caBLE v2 ("hybrid") tunnels until interrupted (SIGINT or SIGTERM).

A phone opens a tunnel with /cable/new/, the desktop joins it with
/cable/connect/, and the server relays their (end-to-end encrypted)
messages. It stands in for the tunnel servers phones name in their
adverts (cable.ua5v.com, cable.auth.com) in local tests.

It serves plain WebSocket (ws://), or wss:// with --tls-cert and --tls-key,
or with a fresh self-signed certificate for localhost (--self-signed; its
SHA-256 fingerprint is logged). Once it serves, it prints

  ready: tunnel ws://127.0.0.1:8112

and with --ready-file writes {"transport":"tunnel","addr":"ws://127.0.0.1:8112"},
atomically, and removes the file when it stops.`,
		Example: `  # a tunnel server for tests, on a free port
  softkey tunnel serve --listen 127.0.0.1:0 --ready-file /tmp/tunnel.json

  # over TLS with a throwaway certificate
  softkey tunnel serve --listen 127.0.0.1:8443 --self-signed`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.maxTunnels < 0 {
				return flagError(cmd, fmt.Errorf("--max-tunnels must not be negative, not %d", o.maxTunnels))
			}
			return serveTunnel(cmd.Context(), &o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8112", "TCP `address` to listen on (port 0 picks a free one)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve wss:// with this PEM certificate `file` (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "the PEM private key `file` of --tls-cert")
	f.BoolVar(&o.selfSigned, "self-signed", false, "serve wss:// with a new self-signed certificate for localhost")
	f.IntVar(&o.maxTunnels, "max-tunnels", tunnel.DefaultMaxTunnels, "most tunnels open at once")
	f.StringVar(&o.readyFile, "ready-file", "", "write where the server listens, as JSON, to this `file` once ready")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.MarkFlagsRequiredTogether("tls-cert", "tls-key")
	cmd.MarkFlagsMutuallyExclusive("tls-cert", "self-signed")
	return cmd
}

func serveTunnel(ctx context.Context, o *tunnelServeOptions, stdout, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	switch {
	case o.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	case o.selfSigned:
		cert, err := selfSignedCert(time.Now())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(cert.Certificate[0])
		logger.Info("self-signed certificate for localhost", "sha256", hex.EncodeToString(sum[:]))
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return withHints(fmt.Errorf("listening: %w", err),
			"if another server listens there, stop it or pass --listen 127.0.0.1:0 for a free port")
	}
	scheme := "ws"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "wss"
	}
	ts := tunnel.NewServer(tunnel.Config{MaxTunnels: o.maxTunnels, Logger: logger})
	hs := &http.Server{Handler: ts, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	ready := readyInfo{Transport: "tunnel", Addr: scheme + "://" + ln.Addr().String()}
	fmt.Fprintf(stdout, "ready: %s %s\n", ready.Transport, ready.where())
	if o.readyFile != "" {
		if err := writeReadyFile(o.readyFile, ready); err != nil {
			hs.Close()
			return err
		}
		defer os.Remove(o.readyFile)
	}
	logger.Info("serving", "transport", "tunnel", "at", ready.where())

	select {
	case err := <-served:
		return fmt.Errorf("serving tunnels: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills at once
	logger.Info("stopping", "reason", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The HTTP server stops listening; the tunnels, hijacked from it,
	// are closed by the tunnel server.
	if err := errors.Join(hs.Shutdown(sctx), ts.Shutdown(sctx)); err != nil {
		logger.Warn("some connections were cut without a close handshake", "error", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving tunnels: %w", err)
	}
	return nil
}

// selfSignedCert makes a day-long ECDSA certificate for localhost,
// 127.0.0.1 and ::1.
func selfSignedCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a self-signed certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "softkey tunnel server"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
