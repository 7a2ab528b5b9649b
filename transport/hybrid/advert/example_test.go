package advert_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/softkeydev/softkey/transport/hybrid/advert"
)

// A phone advertises over the local channel and a client scans for it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	scanner, err := advert.ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		log.Fatal(err)
	}
	adverts, err := scanner.Scan(ctx)
	if err != nil {
		log.Fatal(err)
	}

	var serviceData [advert.Size]byte
	copy(serviceData[:], "20 bytes of advert..")
	phone := &advert.UDPAdvertiser{Addr: scanner.Addr()}
	go phone.Advertise(ctx, serviceData)

	sd := <-adverts
	fmt.Printf("%s\n", sd[:])
	// Output: 20 bytes of advert..
}
