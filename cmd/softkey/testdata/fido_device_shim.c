/*
 * fido_device_shim.c: an LD_PRELOAD library that replaces libfido2's
 * device enumeration, fido_dev_info_manifest(), with a list of one device,
 * the path in $SOFTKEY_FIDO_DEVICE.
 *
 * Why: OpenSSH's ssh-keygen -Y sign (and ssh, ssh-add) never pass a device
 * path to the security key middleware; sk-usbhid.c then finds keys with
 * fido_dev_info_manifest(), which on Linux lists hidraw nodes through
 * libudev, and a pseudo-terminal is not one. With this shim, sk-usbhid
 * opens the softkey pseudo-terminal with the ordinary fido_dev_open(path),
 * exactly as it opens the path given with ssh-keygen -O device=. Nothing
 * else is replaced: CTAPHID, CTAP2, the signature and its verification are
 * libfido2's, OpenSSH's and softkey's own.
 *
 * Build: gcc -shared -fPIC -o fido_device_shim.so fido_device_shim.c -lfido2
 */
#include <stdlib.h>

#include <fido.h>

/* sk-usbhid opens the device by path with fido_dev_open(), so these
 * input/output functions, required by fido_dev_info_set(), are never used. */
static void *shim_open(const char *path) { (void)path; return NULL; }
static void shim_close(void *h) { (void)h; }
static int shim_read(void *h, unsigned char *b, size_t n, int ms)
{
	(void)h; (void)b; (void)n; (void)ms;
	return -1;
}
static int shim_write(void *h, const unsigned char *b, size_t n)
{
	(void)h; (void)b; (void)n;
	return -1;
}

int
fido_dev_info_manifest(fido_dev_info_t *devlist, size_t ilen, size_t *olen)
{
	static const fido_dev_io_t io = { shim_open, shim_close, shim_read, shim_write };
	const char *path = getenv("SOFTKEY_FIDO_DEVICE");
	int r;

	*olen = 0;
	if (path == NULL || *path == '\0' || ilen == 0)
		return FIDO_OK;
	r = fido_dev_info_set(devlist, 0, path, "softkey", "softkey pseudo-terminal", &io, NULL);
	if (r != FIDO_OK)
		return r;
	*olen = 1;
	return FIDO_OK;
}
