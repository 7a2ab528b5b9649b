package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/transport/hybrid/advert"
)

func TestAdvertChannels(t *testing.T) {
	a, err := advertAdvertiser(advertUDP, "127.0.0.1:1")
	require.NoError(t, err)
	require.IsType(t, &advert.UDPAdvertiser{}, a)
	a, err = advertAdvertiser(advertBlueZ, "")
	require.NoError(t, err)
	require.IsType(t, &advert.BlueZAdvertiser{}, a)
	_, err = advertAdvertiser("radio", "")
	require.ErrorContains(t, err, `--advert must be udp or bluez, not "radio"`)

	s, closeScanner, err := advertScanner(advertUDP, "127.0.0.1:0", nil)
	require.NoError(t, err)
	require.IsType(t, &advert.UDPScanner{}, s)
	closeScanner()
	s, closeScanner, err = advertScanner(advertBlueZ, "", nil)
	require.NoError(t, err)
	require.IsType(t, &advert.BlueZScanner{}, s)
	closeScanner()
	_, _, err = advertScanner("radio", "", nil)
	require.ErrorContains(t, err, "--advert must be udp or bluez")
}
