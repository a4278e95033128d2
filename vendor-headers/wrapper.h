/*
 * The platform macros that the OASIS PKCS#11 headers require before inclusion
 * (see the comment at the top of pkcs11.h). This file is ours; the three
 * pkcs11*.h files beside it are the unmodified OASIS headers.
 *
 * Cryptoki structures are packed to 1 byte on Windows only; everywhere else the
 * platform's natural alignment applies.
 */
#ifndef P11_WRAPPER_H
#define P11_WRAPPER_H

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif

#ifdef _WIN32
#pragma pack(push, cryptoki, 1)
#endif

#include "pkcs11.h"

#ifdef _WIN32
#pragma pack(pop, cryptoki)
#endif

#endif /* P11_WRAPPER_H */
