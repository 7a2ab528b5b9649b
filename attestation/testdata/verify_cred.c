/*
 * verify_cred checks one attestation with libfido2's fido_cred_verify, the
 * verifier behind `fido2-cred -V`, but fed the whole attestation statement
 * (fido_cred_set_attstmt) so that formats whose statement holds more than
 * sig and one certificate, such as tpm, can be checked too.
 *
 * usage: verify_cred TYPE RPID FMT CDH_HEX AUTHDATA_HEX ATTSTMT_HEX
 *
 * TYPE is es256, rs256 or eddsa; AUTHDATA_HEX is raw authenticator data;
 * ATTSTMT_HEX is the CBOR attStmt map. Statements without x5c are checked
 * as self attestation (fido_cred_verify_self), as fido2-cred does. The none
 * format has no signature, and libfido2 no procedure to verify it (both
 * verify calls answer FIDO_ERR_INVALID_ARGUMENT); for none the program only
 * checks that libfido2 takes the statement and authenticator data apart,
 * as fido_dev_make_cred does for a client. Exit status 0 means verified;
 * otherwise libfido2's error is printed on stderr.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>

static unsigned char *
unhex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out;

	if (n % 2 != 0 || (out = malloc(n / 2 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;
		if (sscanf(s + 2 * i, "%2x", &b) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)b;
	}
	*len = n / 2;
	return out;
}

int
main(int argc, char **argv)
{
	fido_cred_t *cred;
	unsigned char *cdh, *ad, *st;
	size_t cdh_len, ad_len, st_len;
	int type, r;

	if (argc != 7) {
		fprintf(stderr, "usage: verify_cred TYPE RPID FMT CDH AUTHDATA ATTSTMT\n");
		return 2;
	}
	if (strcmp(argv[1], "es256") == 0)
		type = COSE_ES256;
	else if (strcmp(argv[1], "rs256") == 0)
		type = COSE_RS256;
	else if (strcmp(argv[1], "eddsa") == 0)
		type = COSE_EDDSA;
	else {
		fprintf(stderr, "unknown type %s\n", argv[1]);
		return 2;
	}
	if ((cdh = unhex(argv[4], &cdh_len)) == NULL ||
	    (ad = unhex(argv[5], &ad_len)) == NULL ||
	    (st = unhex(argv[6], &st_len)) == NULL) {
		fprintf(stderr, "bad hex argument\n");
		return 2;
	}

	fido_init(getenv("FIDO_DEBUG") != NULL ? FIDO_DEBUG : 0);
	if ((cred = fido_cred_new()) == NULL) {
		fprintf(stderr, "fido_cred_new failed\n");
		return 2;
	}
	if ((r = fido_cred_set_type(cred, type)) != FIDO_OK ||
	    (r = fido_cred_set_clientdata_hash(cred, cdh, cdh_len)) != FIDO_OK ||
	    (r = fido_cred_set_rp(cred, argv[2], NULL)) != FIDO_OK ||
	    (r = fido_cred_set_authdata_raw(cred, ad, ad_len)) != FIDO_OK ||
	    (r = fido_cred_set_fmt(cred, argv[3])) != FIDO_OK ||
	    (r = fido_cred_set_attstmt(cred, st, st_len)) != FIDO_OK) {
		fprintf(stderr, "fido_cred_set: %s\n", fido_strerr(r));
		return 1;
	}
	if (strcmp(argv[3], "none") == 0) {
		if (fido_cred_sig_len(cred) != 0 || fido_cred_x5c_len(cred) != 0 ||
		    fido_cred_pubkey_len(cred) == 0 || fido_cred_id_len(cred) == 0) {
			fprintf(stderr, "none: attStmt not empty or no credential\n");
			return 1;
		}
	} else if (fido_cred_x5c_ptr(cred) == NULL) {
		if ((r = fido_cred_verify_self(cred)) != FIDO_OK) {
			fprintf(stderr, "fido_cred_verify_self: %s\n", fido_strerr(r));
			return 1;
		}
	} else if ((r = fido_cred_verify(cred)) != FIDO_OK) {
		fprintf(stderr, "fido_cred_verify: %s\n", fido_strerr(r));
		return 1;
	}
	fido_cred_free(&cred);
	return 0;
}
