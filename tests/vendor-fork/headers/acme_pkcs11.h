/*
 * A sample vendor header, as an HSM vendor ships one beside the OASIS PKCS#11 headers:
 * its own mechanism, attribute, return value and mechanism parameter struct, all in the
 * vendor-defined ranges. The vendor-fork test generates p11-sys from it
 * (`cargo xtask bindgen --headers tests/vendor-fork/headers --out ...`) and swaps that in.
 */
#ifndef ACME_PKCS11_H
#define ACME_PKCS11_H

#define CKM_ACME_SEAL            (CKM_VENDOR_DEFINED | 0x5EA1UL)
#define CKA_ACME_KEY_GENERATION  (CKA_VENDOR_DEFINED | 0x0A01UL)
#define CKR_ACME_QUOTA_EXCEEDED  (CKR_VENDOR_DEFINED | 0x0051UL)

/* The parameter of CKM_ACME_SEAL. */
typedef struct CK_ACME_SEAL_PARAMS {
    CK_ULONG    ulRounds;
    CK_BYTE_PTR pNonce;
    CK_ULONG    ulNonceLen;
} CK_ACME_SEAL_PARAMS;

typedef CK_ACME_SEAL_PARAMS CK_PTR CK_ACME_SEAL_PARAMS_PTR;

#endif /* ACME_PKCS11_H */
