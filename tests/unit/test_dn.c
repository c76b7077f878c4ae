/* Unit tests for tls/dn.c: DER Names to RFC 4514 text. Real subjects from OpenSSL-made and Mozilla
 * root certificates (expected strings checked against `openssl x509 -nameopt RFC2253`, noted where
 * OpenSSL differs), hand-built edge cases, and malformed DER that must fail as TLS_E_DER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz.h"
#include "tls/wire/dn.h"
#include "tls/wire/error.h"
#include "testutil.h"

/* Subject Names extracted from certificates (tbsCertificate.subject, whole TLV). */

/* openssl req -x509 -subj "/C=US/O=Example Inc/CN=www.example.com"; RFC2253:
 * CN=www.example.com,O=Example Inc,C=US */
static const uint8_t der_simple[] = {
    0x30, 0x3d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55, 0x53, 0x31,
    0x14, 0x30, 0x12, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x0b, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c,
    0x65, 0x20, 0x49, 0x6e, 0x63, 0x31, 0x18, 0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0f,
    0x77, 0x77, 0x77, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
};

/* -subj "/CN=test"; RFC2253: CN=test */
static const uint8_t der_cn[] = {
    0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55,
    0x04, 0x03, 0x0c, 0x04, 0x74, 0x65, 0x73, 0x74,
};

/* -subj "/DC=com/DC=example/OU=Unit/CN=host" (DC as IA5String); RFC2253:
 * CN=host,OU=Unit,DC=example,DC=com */
static const uint8_t der_dc[] = {
    0x30, 0x4c, 0x31, 0x13, 0x30, 0x11, 0x06, 0x0a, 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64,
    0x01, 0x19, 0x16, 0x03, 0x63, 0x6f, 0x6d, 0x31, 0x17, 0x30, 0x15, 0x06, 0x0a, 0x09, 0x92, 0x26,
    0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19, 0x16, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
    0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x04, 0x55, 0x6e, 0x69, 0x74, 0x31,
    0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, 0x68, 0x6f, 0x73, 0x74,
};

/* -subj "/C=DE/ST=Berlin/L=Berlin/street=Main St 1/O=Acme/OU=Ops/UID=u42/CN=acme.example", a
 * long-form outer length (30 81 8c). RFC2253 prints "street=" for STREET, otherwise equal. */
static const uint8_t der_full[] = {
    0x30, 0x81, 0x8c, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x44, 0x45,
    0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x08, 0x0c, 0x06, 0x42, 0x65, 0x72, 0x6c, 0x69,
    0x6e, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x07, 0x0c, 0x06, 0x42, 0x65, 0x72, 0x6c,
    0x69, 0x6e, 0x31, 0x12, 0x30, 0x10, 0x06, 0x03, 0x55, 0x04, 0x09, 0x0c, 0x09, 0x4d, 0x61, 0x69,
    0x6e, 0x20, 0x53, 0x74, 0x20, 0x31, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
    0x04, 0x41, 0x63, 0x6d, 0x65, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x03,
    0x4f, 0x70, 0x73, 0x31, 0x13, 0x30, 0x11, 0x06, 0x0a, 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c,
    0x64, 0x01, 0x01, 0x0c, 0x03, 0x75, 0x34, 0x32, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04,
    0x03, 0x0c, 0x0c, 0x61, 0x63, 0x6d, 0x65, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
};

/* -multivalue-rdn -subj "/C=US/O=Org/CN=a+OU=b"; RFC2253: OU=b+CN=a,O=Org,C=US (OpenSSL
 * reverses inside the RDN too; we keep encoding order, as Go and pyca do; RFC 4514 2.2 allows
 * both). */
static const uint8_t der_multi[] = {
    0x30, 0x31, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02,
    0x55, 0x53, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03,
    0x4f, 0x72, 0x67, 0x31, 0x14, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
    0x01, 0x61, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x01, 0x62,
};

/* C=US and one RDN {CN=c, O=O1, OU=U1} (DER-sorted SET OF); RFC2253: OU=U1+O=O1+CN=c,C=US */
static const uint8_t der_multi3[] = {
    0x30, 0x2f, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02,
    0x55, 0x53, 0x31, 0x20, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01,
    0x63, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x02, 0x4f, 0x31, 0x30,
    0x09, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x02, 0x55, 0x31,
};

/* -subj '/CN=a,b\+c"d\\e<f>g;h=i'; RFC2253: CN=a\,b\+c\"d\\e\<f\>g\;h=i */
static const uint8_t der_special[] = {
    0x30, 0x1c, 0x31, 0x1a, 0x30, 0x18, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x11, 0x61, 0x2c,
    0x62, 0x2b, 0x63, 0x22, 0x64, 0x5c, 0x65, 0x3c, 0x66, 0x3e, 0x67, 0x3b, 0x68, 0x3d, 0x69,
};

/* -subj "/CN=#hash/OU= lead/O=trail "; RFC2253: O=trail\ ,OU=\ lead,CN=\#hash */
static const uint8_t der_lead[] = {
    0x30, 0x31, 0x31, 0x0e, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05,
    0x23, 0x68, 0x61, 0x73, 0x68, 0x31, 0x0e, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x04,
    0x0b, 0x0c, 0x05, 0x20, 0x6c, 0x65, 0x61, 0x64, 0x31, 0x0f, 0x30, 0x0d, 0x06,
    0x03, 0x55, 0x04, 0x0a, 0x0c, 0x06, 0x74, 0x72, 0x61, 0x69, 0x6c, 0x20,
};

/* CN=" ", O="# x #", OU="a  b  "; RFC2253: OU=a  b \ ,O=\# x #,CN=\  */
static const uint8_t der_sp[] = {
    0x30, 0x2d, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x20, 0x31, 0x0e,
    0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x05, 0x23, 0x20, 0x78, 0x20, 0x23, 0x31, 0x0f,
    0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x0c, 0x06, 0x61, 0x20, 0x20, 0x62, 0x20, 0x20,
};

/* -utf8 -subj "/CN=Ünïcødé ☃" (UTF8String); RFC2253 with ESC_MSB:
 * CN=\C3\9Cn\C3\AFc\C3\B8d\C3\A9 \E2\98\83; we keep valid UTF-8 as it is. */
static const uint8_t der_utf8[] = {
    0x30, 0x1a, 0x31, 0x18, 0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0f, 0xc3,
    0x9c, 0x6e, 0xc3, 0xaf, 0x63, 0xc3, 0xb8, 0x64, 0xc3, 0xa9, 0x20, 0xe2, 0x98, 0x83,
};

/* CN="a\x01b\x7fc\x1f"; RFC2253: CN=a\01b\7Fc\1F */
static const uint8_t der_ctrl[] = {
    0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04,
    0x03, 0x0c, 0x06, 0x61, 0x01, 0x62, 0x7f, 0x63, 0x1f,
};

/* CN="a\x00b"; RFC2253: CN=a\00b */
static const uint8_t der_nul[] = {
    0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, 0x61, 0x00, 0x62,
};

/* C=GR, CN="Ωmega" as BMPString; RFC2253: CN=\CE\A9mega,C=GR */
static const uint8_t der_bmp[] = {
    0x30, 0x22, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13,
    0x02, 0x47, 0x52, 0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03,
    0x1e, 0x0a, 0x03, 0xa9, 0x00, 0x6d, 0x00, 0x65, 0x00, 0x67, 0x00, 0x61,
};

/* CN="a😀" as BMPString with a UTF-16 surrogate pair (OpenSSL 3.0 refuses to print it) */
static const uint8_t der_bmpsurr[] = {
    0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04,
    0x03, 0x1e, 0x06, 0x00, 0x61, 0xd8, 0x3d, 0xde, 0x00,
};

/* string_mask=default, -utf8 -subj "/C=FR/CN=café": CN as TeletexString 63 61 66 e9;
 * RFC2253: CN=caf\C3\A9,C=FR */
static const uint8_t der_teletex[] = {
    0x30, 0x1c, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x46, 0x52,
    0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x14, 0x04, 0x63, 0x61, 0x66, 0xe9,
};

/* CN="x☃" as UniversalString; RFC2253: CN=x\E2\98\83 */
static const uint8_t der_universal[] = {
    0x30, 0x13, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x03,
    0x1c, 0x08, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x26, 0x03,
};

/* CN=x, 1.2.3.4=foo (UTF8String); RFC2253: 1.2.3.4=#0C03666F6F,CN=x */
static const uint8_t der_unknownoid[] = {
    0x30, 0x1a, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x78,
    0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x0c, 0x03, 0x66, 0x6f, 0x6f,
};

/* 2.999.1234567890123.5=v: multi-byte first and later arcs; RFC2253:
 * 2.999.1234567890123.5=#0C0176 */
static const uint8_t der_bigoid[] = {
    0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x09, 0x88, 0x37,
    0xa3, 0xf7, 0x8f, 0xec, 0x89, 0x4b, 0x05, 0x0c, 0x01, 0x76,
};

/* A certificate with an empty subject; RFC2253 prints nothing. */
static const uint8_t der_empty[] = {
    0x30,
    0x00,
};

/* Subject of ISRG Root X1 (Mozilla roots); RFC2253:
 * CN=ISRG Root X1,O=Internet Security Research Group,C=US */
static const uint8_t der_isrg[] = {
    0x30, 0x4f, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55,
    0x53, 0x31, 0x29, 0x30, 0x27, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x20, 0x49, 0x6e,
    0x74, 0x65, 0x72, 0x6e, 0x65, 0x74, 0x20, 0x53, 0x65, 0x63, 0x75, 0x72, 0x69, 0x74,
    0x79, 0x20, 0x52, 0x65, 0x73, 0x65, 0x61, 0x72, 0x63, 0x68, 0x20, 0x47, 0x72, 0x6f,
    0x75, 0x70, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x0c, 0x49,
    0x53, 0x52, 0x47, 0x20, 0x52, 0x6f, 0x6f, 0x74, 0x20, 0x58, 0x31,
};

/* Subject of Security Communication RootCA2; RFC2253:
 * OU=Security Communication RootCA2,O=SECOM Trust Systems CO.\,LTD.,C=JP */
static const uint8_t der_secom[] = {
    0x30, 0x5d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x4a, 0x50, 0x31,
    0x25, 0x30, 0x23, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x1c, 0x53, 0x45, 0x43, 0x4f, 0x4d, 0x20,
    0x54, 0x72, 0x75, 0x73, 0x74, 0x20, 0x53, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x73, 0x20, 0x43, 0x4f,
    0x2e, 0x2c, 0x4c, 0x54, 0x44, 0x2e, 0x31, 0x27, 0x30, 0x25, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x13,
    0x1e, 0x53, 0x65, 0x63, 0x75, 0x72, 0x69, 0x74, 0x79, 0x20, 0x43, 0x6f, 0x6d, 0x6d, 0x75, 0x6e,
    0x69, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x20, 0x52, 0x6f, 0x6f, 0x74, 0x43, 0x41, 0x32,
};

/* Subject of NetLock Arany (Class Gold) Főtanúsítvány; RFC2253 (ESC_MSB):
 * CN=NetLock Arany (Class Gold)
 * F\C5\91tan\C3\BAs\C3\ADtv\C3\A1ny,OU=Tan\C3\BAs\C3\ADtv\C3\A1nykiad\C3\B3k (Certification
 * Services),O=NetLock Kft.,L=Budapest,C=HU */
static const uint8_t der_netlock[] = {
    0x30, 0x81, 0xa7, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x48, 0x55,
    0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x07, 0x0c, 0x08, 0x42, 0x75, 0x64, 0x61, 0x70,
    0x65, 0x73, 0x74, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x0c, 0x4e, 0x65,
    0x74, 0x4c, 0x6f, 0x63, 0x6b, 0x20, 0x4b, 0x66, 0x74, 0x2e, 0x31, 0x37, 0x30, 0x35, 0x06, 0x03,
    0x55, 0x04, 0x0b, 0x0c, 0x2e, 0x54, 0x61, 0x6e, 0xc3, 0xba, 0x73, 0xc3, 0xad, 0x74, 0x76, 0xc3,
    0xa1, 0x6e, 0x79, 0x6b, 0x69, 0x61, 0x64, 0xc3, 0xb3, 0x6b, 0x20, 0x28, 0x43, 0x65, 0x72, 0x74,
    0x69, 0x66, 0x69, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x20, 0x53, 0x65, 0x72, 0x76, 0x69, 0x63,
    0x65, 0x73, 0x29, 0x31, 0x35, 0x30, 0x33, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x2c, 0x4e, 0x65,
    0x74, 0x4c, 0x6f, 0x63, 0x6b, 0x20, 0x41, 0x72, 0x61, 0x6e, 0x79, 0x20, 0x28, 0x43, 0x6c, 0x61,
    0x73, 0x73, 0x20, 0x47, 0x6f, 0x6c, 0x64, 0x29, 0x20, 0x46, 0xc5, 0x91, 0x74, 0x61, 0x6e, 0xc3,
    0xba, 0x73, 0xc3, 0xad, 0x74, 0x76, 0xc3, 0xa1, 0x6e, 0x79,
};

/* Subject of Microsec e-Szigno Root CA 2009; OpenSSL's RFC2253 output names the first attribute
 * emailAddress=info@e-szigno.hu (RFC 4514 does not), and so does caprobe. */
static const uint8_t der_microsec[] = {
    0x30, 0x81, 0x82, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x48,
    0x55, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x07, 0x0c, 0x08, 0x42, 0x75, 0x64,
    0x61, 0x70, 0x65, 0x73, 0x74, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
    0x0d, 0x4d, 0x69, 0x63, 0x72, 0x6f, 0x73, 0x65, 0x63, 0x20, 0x4c, 0x74, 0x64, 0x2e, 0x31,
    0x27, 0x30, 0x25, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x1e, 0x4d, 0x69, 0x63, 0x72, 0x6f,
    0x73, 0x65, 0x63, 0x20, 0x65, 0x2d, 0x53, 0x7a, 0x69, 0x67, 0x6e, 0x6f, 0x20, 0x52, 0x6f,
    0x6f, 0x74, 0x20, 0x43, 0x41, 0x20, 0x32, 0x30, 0x30, 0x39, 0x31, 0x1f, 0x30, 0x1d, 0x06,
    0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01, 0x16, 0x10, 0x69, 0x6e, 0x66,
    0x6f, 0x40, 0x65, 0x2d, 0x73, 0x7a, 0x69, 0x67, 0x6e, 0x6f, 0x2e, 0x68, 0x75,
};

/* ---- helpers ---- */

#define TEXT_CAP 65536
static char text[TEXT_CAP];
static uint8_t built[16384];

#define text_is_clean fuzz_text_is_clean /* the oracle the fuzz targets use */

static void expect_text(const uint8_t *der, size_t len, const char *want)
{
    assert_true(TLS_DN_TEXT_MAX(len) <= TEXT_CAP);
    size_t n = 12345;
    int rc = tls_dn_format(der, len, text, TLS_DN_TEXT_MAX(len), &n);
    if (rc != 0)
        fail_msg("tls_dn_format: %s, want \"%s\"", tls_err_name(rc), want);
    assert_string_equal(text, want);
    assert_int_equal(n, strlen(want));
    assert_true(n < TLS_DN_TEXT_MAX(len));
    assert_true(text_is_clean(text, n));
    assert_int_equal(tls_dn_check(der, len), 0);
    /* The exact room is enough. */
    assert_int_equal(tls_dn_format(der, len, text, n + 1, NULL), 0);
    assert_string_equal(text, want);
}

static void expect_der_error(const uint8_t *der, size_t len)
{
    size_t n = 12345;
    memset(text, 'x', 16);
    assert_int_equal(tls_dn_format(der, len, text, TEXT_CAP, &n), TLS_E_DER);
    assert_int_equal(text[0], '\0');
    assert_int_equal(n, 0);
    /* Malformed wins over too small. */
    assert_int_equal(tls_dn_format(der, len, text, 1, &n), TLS_E_DER);
    assert_int_equal(tls_dn_format(der, len, NULL, 0, NULL), TLS_E_DER);
    assert_int_equal(tls_dn_check(der, len), TLS_E_DER);
}

#define EXPECT_TEXT(der, want) expect_text(der, sizeof(der), want)
#define EXPECT_DER_ERROR(...)                                                                      \
    do {                                                                                           \
        static const uint8_t bad_[] = {__VA_ARGS__};                                               \
        expect_der_error(bad_, sizeof(bad_));                                                      \
    } while (0)

/* Wrap buf[0..len) in a TLV of tag, in place; returns the new length. */
static size_t wrap(uint8_t *buf, size_t len, uint8_t tag)
{
    static uint8_t tmp[sizeof(built)];
    assert_true(len + 4 <= sizeof(tmp));
    memcpy(tmp, buf, len);
    size_t n = 0;
    testutil_der_tlv(buf, &n, tag, tmp, len);
    return n;
}

static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};

/* Append one whole AttributeTypeAndValue to buf at *n. */
static void put_atv(uint8_t *buf, size_t *n, const uint8_t *oid, size_t oid_len, uint8_t tag,
                    const void *val, size_t val_len)
{
    uint8_t atv[8192];
    size_t k = 0;
    assert_true(oid_len + val_len + 8 <= sizeof(atv));
    testutil_der_tlv(atv, &k, 0x06, oid, oid_len);
    testutil_der_tlv(atv, &k, tag, val, val_len);
    testutil_der_tlv(buf, n, 0x30, atv, k);
}

/* Name { RDN { oid = tag:val } } in built; returns its length. */
static size_t name_one(const uint8_t *oid, size_t oid_len, uint8_t tag, const void *val,
                       size_t val_len)
{
    size_t n = 0;
    put_atv(built, &n, oid, oid_len, tag, val, val_len);
    n = wrap(built, n, 0x31);
    return wrap(built, n, 0x30);
}

/* The text of CN = tag:val. */
static void expect_cn(uint8_t tag, const void *val, size_t val_len, const char *want)
{
    size_t n = name_one(oid_cn, sizeof(oid_cn), tag, val, val_len);
    expect_text(built, n, want);
}

#define EXPECT_CN(tag, lit, want) expect_cn(tag, lit, sizeof(lit) - 1, want)

/* Name { RDN { SEQUENCE { CN, raw } } } in built: raw is put as it is where the value goes. */
static size_t name_raw(const uint8_t *raw, size_t raw_len)
{
    uint8_t atv[64];
    size_t k = 0;
    assert_true(raw_len + 5 <= sizeof(atv));
    testutil_der_tlv(atv, &k, 0x06, oid_cn, sizeof(oid_cn));
    memcpy(atv + k, raw, raw_len);
    k += raw_len;
    size_t n = 0;
    testutil_der_tlv(built, &n, 0x30, atv, k);
    n = wrap(built, n, 0x31);
    return wrap(built, n, 0x30);
}

#define EXPECT_RAW_VALUE_ERROR(...)                                                                \
    do {                                                                                           \
        static const uint8_t raw_[] = {__VA_ARGS__};                                               \
        expect_der_error(built, name_raw(raw_, sizeof(raw_)));                                     \
    } while (0)

/* ---- names from real certificates ---- */

static void test_real_names(void **state)
{
    (void)state;
    EXPECT_TEXT(der_simple, "CN=www.example.com,O=Example Inc,C=US");
    EXPECT_TEXT(der_cn, "CN=test");
    EXPECT_TEXT(der_isrg, "CN=ISRG Root X1,O=Internet Security Research Group,C=US");
    EXPECT_TEXT(der_secom,
                "OU=Security Communication RootCA2,O=SECOM Trust Systems CO.\\,LTD.,C=JP");
    EXPECT_TEXT(der_netlock, "CN=NetLock Arany (Class Gold) Főtanúsítvány,"
                             "OU=Tanúsítványkiadók (Certification Services),"
                             "O=NetLock Kft.,L=Budapest,C=HU");
    EXPECT_TEXT(der_microsec, "emailAddress=info@e-szigno.hu,"
                              "CN=Microsec e-Szigno Root CA 2009,O=Microsec Ltd.,L=Budapest,C=HU");
}

static void test_order_and_short_names(void **state)
{
    (void)state;
    EXPECT_TEXT(der_dc, "CN=host,OU=Unit,DC=example,DC=com");
    EXPECT_TEXT(der_full, "CN=acme.example,UID=u42,OU=Ops,O=Acme,STREET=Main St 1,L=Berlin,"
                          "ST=Berlin,C=DE");
}

/* 300 RDNs CN=0 .. CN=299 come out as CN=299,...,CN=0. */
static void test_order_many(void **state)
{
    (void)state;
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        char v[8];
        int k = snprintf(v, sizeof(v), "%d", i);
        uint8_t rdn[32];
        size_t r = 0;
        put_atv(rdn, &r, oid_cn, sizeof(oid_cn), 0x0c, v, (size_t)k);
        testutil_der_tlv(built, &n, 0x31, rdn, r);
    }
    n = wrap(built, n, 0x30);
    static char want[4096];
    size_t w = 0;
    for (int i = 299; i >= 0; i--)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "%sCN=%d", i == 299 ? "" : ",", i);
    expect_text(built, n, want);
}

static void test_multi_valued(void **state)
{
    (void)state;
    EXPECT_TEXT(der_multi, "CN=a+OU=b,O=Org,C=US");
    EXPECT_TEXT(der_multi3, "CN=c+O=O1+OU=U1,C=US");
}

static void test_empty(void **state)
{
    (void)state;
    EXPECT_TEXT(der_empty, "");
    /* An empty value is a valid RFC 4514 string. */
    expect_cn(0x0c, "", 0, "CN=");
}

/* ---- RFC 4514 2.4 escaping ---- */

static void test_escape_specials(void **state)
{
    (void)state;
    EXPECT_TEXT(der_special, "CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h=i");
    EXPECT_CN(0x0c, "\"", "CN=\\\"");
    EXPECT_CN(0x0c, "+", "CN=\\+");
    EXPECT_CN(0x0c, ",", "CN=\\,");
    EXPECT_CN(0x0c, ";", "CN=\\;");
    EXPECT_CN(0x0c, "<", "CN=\\<");
    EXPECT_CN(0x0c, ">", "CN=\\>");
    EXPECT_CN(0x0c, "\\", "CN=\\\\");
    /* Not special for RFC 4514. */
    EXPECT_CN(0x0c, "a=b/c'd", "CN=a=b/c'd");
    /* In an IA5String, and after BMPString decoding (U+012B has the low byte of '+'). */
    EXPECT_CN(0x16, "x,y", "CN=x\\,y");
    EXPECT_CN(0x1e, "\x00+\x01+", "CN=\\+\xc4\xab");
}

static void test_escape_leading_trailing(void **state)
{
    (void)state;
    EXPECT_TEXT(der_lead, "O=trail\\ ,OU=\\ lead,CN=\\#hash");
    EXPECT_TEXT(der_sp, "OU=a  b \\ ,O=\\# x #,CN=\\ ");
    EXPECT_CN(0x0c, "  ", "CN=\\ \\ ");
    /* OpenSSL 3.0 prints "CN=#" here: first-character escaping lost when it is also the last. */
    EXPECT_CN(0x0c, "#", "CN=\\#");
    EXPECT_CN(0x0c, "##", "CN=\\##");
    EXPECT_CN(0x0c, "a#", "CN=a#");
    EXPECT_CN(0x14, " ", "CN=\\ ");
    EXPECT_CN(0x1e, "\x00#\x00 ", "CN=\\#\\ ");
}

static void test_control_chars(void **state)
{
    (void)state;
    EXPECT_TEXT(der_ctrl, "CN=a\\01b\\7Fc\\1F");
    EXPECT_TEXT(der_nul, "CN=a\\00b");
    EXPECT_CN(0x0c, "\t\n\r\x1b", "CN=\\09\\0A\\0D\\1B");
    EXPECT_CN(0x13, "\x00", "CN=\\00");
    EXPECT_CN(0x14, "\x7f\x01", "CN=\\7F\\01");
    EXPECT_CN(0x1e, "\x00\x0a\x00\x7f", "CN=\\0A\\7F");
    EXPECT_CN(0x1c, "\x00\x00\x00\x00", "CN=\\00");
    /* A leading control char is escaped as hex, not with a bare backslash. */
    EXPECT_CN(0x0c, "\x01 ", "CN=\\01\\ ");
    /* C1 controls are valid UTF-8 but act on terminals: escaped too. */
    EXPECT_CN(0x0c, "\xc2\x85", "CN=\\C2\\85");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    EXPECT_TEXT(der_utf8, "CN=Ünïcødé ☃");
    EXPECT_CN(0x0c, "\xf0\x9f\x98\x80", "CN=😀");
    EXPECT_CN(0x0c, "a\x80z", "CN=a\\80z");                     /* stray continuation */
    EXPECT_CN(0x0c, "\xc0\xaf", "CN=\\C0\\AF");                 /* overlong '/' */
    EXPECT_CN(0x0c, "\xe0\x80\xaf", "CN=\\E0\\80\\AF");         /* overlong, 3 bytes */
    EXPECT_CN(0x0c, "\xed\xa0\x80", "CN=\\ED\\A0\\80");         /* surrogate U+D800 */
    EXPECT_CN(0x0c, "\xf4\x90\x80\x80", "CN=\\F4\\90\\80\\80"); /* above U+10FFFF */
    EXPECT_CN(0x0c, "\xf5\xff\xfe", "CN=\\F5\\FF\\FE");
    EXPECT_CN(0x0c, "\xe2\x98", "CN=\\E2\\98");   /* truncated at the end */
    EXPECT_CN(0x0c, "\xe2\x98x", "CN=\\E2\\98x"); /* truncated in the middle */
    EXPECT_CN(0x0c, "\xc3\xa9\xe9", "CN=é\\E9");  /* Latin-1 after UTF-8 */
    /* PrintableString and IA5String holding 8-bit bytes get the same treatment. */
    EXPECT_CN(0x13, "caf\xc3\xa9", "CN=café");
    EXPECT_CN(0x16, "caf\xe9", "CN=caf\\E9");
}

/* ---- string types ---- */

static void test_string_types(void **state)
{
    (void)state;
    EXPECT_CN(0x12, "0123 45", "CN=0123 45");       /* NumericString */
    EXPECT_CN(0x13, "Print able", "CN=Print able"); /* PrintableString */
    EXPECT_CN(0x16, "a@b.c", "CN=a@b.c");           /* IA5String */
    EXPECT_CN(0x1a, "vis~ible", "CN=vis~ible");     /* VisibleString */
    EXPECT_CN(0x0c, "utf8", "CN=utf8");             /* UTF8String */
}

static void test_bmp_string(void **state)
{
    (void)state;
    EXPECT_TEXT(der_bmp, "CN=Ωmega,C=GR");
    EXPECT_TEXT(der_bmpsurr, "CN=a😀");
    EXPECT_CN(0x1e, "\xff\xfd", "CN=\xef\xbf\xbd");
    /* Not decodable: odd length, lone surrogates. Shown as #hex of the whole value. */
    EXPECT_CN(0x1e, "\x00\x41\x00", "CN=#1E03004100");
    EXPECT_CN(0x1e, "\xd8\x3d\x00\x41", "CN=#1E04D83D0041");
    EXPECT_CN(0x1e, "\xde\x00", "CN=#1E02DE00");
    EXPECT_CN(0x1e, "\x00\x41\xd8\x3d", "CN=#1E040041D83D");
    EXPECT_CN(0x1e, "\xd8\x3d\xe0\x00", "CN=#1E04D83DE000");
}

static void test_teletex_string(void **state)
{
    (void)state;
    EXPECT_TEXT(der_teletex, "CN=café,C=FR");
    EXPECT_CN(0x14, "\xff\xa0", "CN=ÿ\xc2\xa0");
    /* C1 controls act on terminals (0x9b is CSI): escaped as the octets of their UTF-8 form,
     * from Teletex (one octet), UTF-8 (two) and BMP (two) alike */
    EXPECT_CN(0x14,
              "a\x9b"
              "b",
              "CN=a\\C2\\9Bb");
    EXPECT_CN(0x0c,
              "a\xc2\x85"
              "b",
              "CN=a\\C2\\85b");
    EXPECT_CN(0x1e, "\x00\x80", "CN=\\C2\\80");
}

static void test_universal_string(void **state)
{
    (void)state;
    EXPECT_TEXT(der_universal, "CN=x☃");
    EXPECT_CN(0x1c, "\x00\x01\xf6\x00", "CN=😀");
    EXPECT_CN(0x1c, "\x00\x00\x00", "CN=#1C03000000");       /* length not 4n */
    EXPECT_CN(0x1c, "\x00\x11\x00\x00", "CN=#1C0400110000"); /* above U+10FFFF */
    EXPECT_CN(0x1c, "\x00\x00\xd8\x00", "CN=#1C040000D800"); /* surrogate */
}

/* ---- types without a string form: RFC 4514 2.4 #hex ---- */

static void test_unknown_oid(void **state)
{
    (void)state;
    EXPECT_TEXT(der_unknownoid, "1.2.3.4=#0C03666F6F,CN=x");
    EXPECT_TEXT(der_bigoid, "2.999.1234567890123.5=#0C0176");
    /* First arc 0 and 1, and arcs at the 64-bit limit. */
    static const uint8_t oid0[] = {0x27, 0x00};
    size_t n = name_one(oid0, sizeof(oid0), 0x05, "", 0);
    expect_text(built, n, "0.39.0=#0500");
    static const uint8_t oid1[] = {0x28, 0x4f};
    n = name_one(oid1, sizeof(oid1), 0x0c, "v", 1);
    expect_text(built, n, "1.0.79=#0C0176");
    static const uint8_t big[] = {0x2a, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                                  0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    n = name_one(big, sizeof(big), 0x05, "", 0);
    expect_text(built, n, "1.2.18446744073709551615.9223372036854775808=#0500");
    /* Attributes OpenSSL names and RFC 4514 does not: by OpenSSL's name (2.5.4.5). */
    static const uint8_t serial[] = {0x55, 0x04, 0x05};
    n = name_one(serial, sizeof(serial), 0x13, "1234", 4);
    expect_text(built, n, "serialNumber=1234");
    /* One it does not name either stays an OID with #hex (2.5.4.14 searchGuide). */
    static const uint8_t guide[] = {0x55, 0x04, 0x0e};
    n = name_one(guide, sizeof(guide), 0x13, "1234", 4);
    expect_text(built, n, "2.5.4.14=#130431323334");
}

static void test_known_oid_non_string(void **state)
{
    (void)state;
    EXPECT_CN(0x02, "\x05", "CN=#020105");          /* INTEGER */
    EXPECT_CN(0x05, "", "CN=#0500");                /* NULL */
    EXPECT_CN(0x1b, "gen", "CN=#1B0367656E");       /* GeneralString */
    EXPECT_CN(0x2c, "\x0c\x01x", "CN=#2C030C0178"); /* constructed UTF8String */
    /* High tag number form [APPLICATION 40], whole TLV kept. */
    static const uint8_t app40[] = {0x5f, 0x28, 0x01, 0x41};
    expect_text(built, name_raw(app40, sizeof(app40)), "CN=#5F280141");
    static const uint8_t o_app40[] = {0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03,
                                      0x55, 0x04, 0x0a, 0x5f, 0x28, 0x01, 0x41};
    EXPECT_TEXT(o_app40, "O=#5F280141");
}

/* ---- malformed names ---- */

static void test_truncated(void **state)
{
    (void)state;
    const struct {
        const uint8_t *p;
        size_t len;
    } all[] = {
        {der_simple, sizeof(der_simple)},   {der_full, sizeof(der_full)},
        {der_multi, sizeof(der_multi)},     {der_bmp, sizeof(der_bmp)},
        {der_netlock, sizeof(der_netlock)}, {der_empty, sizeof(der_empty)},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        for (size_t cut = 0; cut < all[i].len; cut++)
            expect_der_error(all[i].p, cut);
    }
    expect_der_error(NULL, 0);
}

static void test_length_overrun(void **state)
{
    (void)state;
    /* Outer SEQUENCE longer than the input. */
    EXPECT_DER_ERROR(0x30, 0x10, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    /* SET longer than the SEQUENCE. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0e, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    /* AttributeTypeAndValue longer than its SET, though inside the SEQUENCE. */
    EXPECT_DER_ERROR(0x30, 0x11, 0x31, 0x0d, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x05, 0x00);
    /* Value longer than its AttributeTypeAndValue. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05,
                     't', 'e', 's', 't');
    /* OID longer than its AttributeTypeAndValue. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x0a, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    /* 4-byte length near 2^32. */
    EXPECT_DER_ERROR(0x30, 0x84, 0xff, 0xff, 0xff, 0xf0, 0x31, 0x00);
}

static void test_trailing(void **state)
{
    (void)state;
    /* After the outer SEQUENCE. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x00);
    EXPECT_DER_ERROR(0x30, 0x00, 0x30, 0x00);
    /* A third element in an AttributeTypeAndValue. */
    EXPECT_DER_ERROR(0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x05, 0x00);
    /* A stray byte inside the SET after the last AttributeTypeAndValue. */
    EXPECT_DER_ERROR(0x30, 0x10, 0x31, 0x0e, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x00);
    for (size_t i = 0; i < sizeof(der_full); i++)
        built[i] = der_full[i];
    built[sizeof(der_full)] = 0x00;
    expect_der_error(built, sizeof(der_full) + 1);
}

static void test_indefinite_length(void **state)
{
    (void)state;
    EXPECT_DER_ERROR(0x30, 0x80, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x00, 0x00);
    EXPECT_DER_ERROR(0x30, 0x11, 0x31, 0x80, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x00, 0x00);
    EXPECT_DER_ERROR(0x30, 0x11, 0x31, 0x0f, 0x30, 0x80, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x00, 0x00);
    /* Constructed value with indefinite length. */
    EXPECT_RAW_VALUE_ERROR(0x2c, 0x80, 0x0c, 0x01, 'x', 0x00, 0x00);
}

static void test_oversized_and_nonminimal_length(void **state)
{
    (void)state;
    /* Length of length 5, 0x7f, and the reserved 0xff. */
    EXPECT_DER_ERROR(0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x02, 0x31, 0x00);
    EXPECT_DER_ERROR(0x30, 0xff, 0x00);
    /* Long form for a short length, and a leading zero octet. */
    EXPECT_DER_ERROR(0x30, 0x81, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
                     0x04, 't', 'e', 's', 't');
    EXPECT_RAW_VALUE_ERROR(0x0c, 0x81, 0x04, 't', 'e', 's', 't');
    EXPECT_RAW_VALUE_ERROR(0x0c, 0x82, 0x00, 0x04, 't', 'e', 's', 't');
    EXPECT_DER_ERROR(0x30, 0x82, 0x00, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03,
                     0x0c, 0x04, 't', 'e', 's', 't');
}

static void test_bad_structure(void **state)
{
    (void)state;
    /* RDN SET with zero attributes, alone and after a good RDN. */
    EXPECT_DER_ERROR(0x30, 0x02, 0x31, 0x00);
    EXPECT_DER_ERROR(0x30, 0x11, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't', 0x31, 0x00);
    /* RDN that is a SEQUENCE, not a SET. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x30, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    /* Outer SET, outer context tag, bare OID. */
    EXPECT_DER_ERROR(0x31, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    EXPECT_DER_ERROR(0xa0, 0x00);
    EXPECT_DER_ERROR(0x06, 0x03, 0x55, 0x04, 0x03);
    /* AttributeTypeAndValue that is a SET; that lacks its value; whose type is no OID. */
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0d, 0x31, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    EXPECT_DER_ERROR(0x30, 0x09, 0x31, 0x07, 0x30, 0x05, 0x06, 0x03, 0x55, 0x04, 0x03);
    EXPECT_DER_ERROR(0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x0c, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04,
                     't', 'e', 's', 't');
    /* A primitive byte where an RDN should be. */
    EXPECT_DER_ERROR(0x30, 0x01, 0x31);
}

static void test_bad_oid(void **state)
{
    (void)state;
    /* Empty OID; non-minimal subidentifier; last subidentifier unterminated. */
    EXPECT_DER_ERROR(0x30, 0x08, 0x31, 0x06, 0x30, 0x04, 0x06, 0x00, 0x05, 0x00);
    EXPECT_DER_ERROR(0x30, 0x0a, 0x31, 0x08, 0x30, 0x06, 0x06, 0x02, 0x80, 0x01, 0x05, 0x00);
    EXPECT_DER_ERROR(0x30, 0x0a, 0x31, 0x08, 0x30, 0x06, 0x06, 0x02, 0x2a, 0x81, 0x05, 0x00);
    EXPECT_DER_ERROR(0x30, 0x0b, 0x31, 0x09, 0x30, 0x07, 0x06, 0x03, 0x2a, 0x80, 0x01, 0x05, 0x00);
    /* An arc of 2^64: no 64-bit text form, refused. */
    EXPECT_DER_ERROR(0x30, 0x13, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x0b, 0x2a, 0x82, 0x80, 0x80, 0x80,
                     0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x05, 0x00);
}

static void test_bad_tag(void **state)
{
    (void)state;
    /* High tag number form: 0x80 first octet (non-minimal), number below 31, five octets,
     * unterminated. */
    EXPECT_RAW_VALUE_ERROR(0x5f, 0x80, 0x28, 0x00);
    EXPECT_RAW_VALUE_ERROR(0x5f, 0x1e, 0x00);
    EXPECT_RAW_VALUE_ERROR(0x5f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00);
    EXPECT_RAW_VALUE_ERROR(0x5f, 0x81);
    /* Identifier alone, identifier and no length octets. */
    EXPECT_RAW_VALUE_ERROR(0x0c);
    EXPECT_RAW_VALUE_ERROR(0x5f, 0x28);
}

/* ---- output buffer ---- */

static void test_space(void **state)
{
    (void)state;
    const char *want = "CN=www.example.com,O=Example Inc,C=US";
    size_t need = 0;
    assert_int_equal(tls_dn_format(der_simple, sizeof(der_simple), NULL, 0, &need), TLS_E_SPACE);
    assert_int_equal(need, strlen(want));
    char out[64];
    for (size_t cap = 1; cap <= need; cap++) {
        memset(out, 'x', sizeof(out));
        size_t n = 0;
        assert_int_equal(tls_dn_format(der_simple, sizeof(der_simple), out, cap, &n), TLS_E_SPACE);
        assert_int_equal(out[0], '\0');
        assert_int_equal(n, need);
        for (size_t k = cap; k < sizeof(out); k++)
            assert_int_equal(out[k], 'x');
    }
    size_t n = 0;
    assert_int_equal(tls_dn_format(der_simple, sizeof(der_simple), out, need + 1, &n), 0);
    assert_string_equal(out, want);
    /* The empty name needs only the NUL. */
    assert_int_equal(tls_dn_format(der_empty, sizeof(der_empty), NULL, 0, NULL), TLS_E_SPACE);
    assert_int_equal(tls_dn_format(der_empty, sizeof(der_empty), out, 1, &n), 0);
    assert_int_equal(n, 0);
    /* out NULL with room claimed. */
    assert_int_equal(tls_dn_format(der_simple, sizeof(der_simple), NULL, 10, &n), TLS_E_INVALID);
}

/* Inputs built to make the most text per DER byte stay within TLS_DN_TEXT_MAX. */
static void test_text_max(void **state)
{
    (void)state;
    static uint8_t val[4000];
    size_t n;

    memset(val, 0x01, sizeof(val)); /* control chars: 3 chars per byte */
    n = name_one(oid_cn, sizeof(oid_cn), 0x0c, val, sizeof(val));
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);
    assert_int_equal(strlen(text), 3 + 3 * sizeof(val));

    memset(val, 0xff, sizeof(val)); /* invalid UTF-8 */
    n = name_one(oid_cn, sizeof(oid_cn), 0x0c, val, sizeof(val));
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);

    n = name_one(oid_cn, sizeof(oid_cn), 0x14, val, sizeof(val)); /* Latin-1: 2 per byte */
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);
    assert_true(text_is_clean(text, strlen(text)));

    for (size_t i = 0; i < sizeof(val); i += 2) /* U+FFFD: 3 per 2 bytes */
        val[i] = 0xff, val[i + 1] = 0xfd;
    n = name_one(oid_cn, sizeof(oid_cn), 0x1e, val, sizeof(val));
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);

    memset(val, 0x9b, sizeof(val)); /* Teletex C1 (CSI): "\\C2\\9B", 6 chars per byte */
    n = name_one(oid_cn, sizeof(oid_cn), 0x14, val, sizeof(val));
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);
    assert_int_equal(strlen(text), 3 + 6 * sizeof(val));
    assert_true(text_is_clean(text, strlen(text)));

    memset(val, 0x7f, 120); /* OID arcs of one byte: ".127", 4 chars per byte */
    n = name_one(val, 120, 0x05, "", 0);
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);

    /* Many minimal unknown attributes: 2.47=#0500 per 9 bytes. */
    n = 0;
    for (int i = 0; i < 1000; i++) {
        static const uint8_t rdn[] = {0x31, 0x07, 0x30, 0x05, 0x06, 0x01, 0x7f, 0x05, 0x00};
        memcpy(built + n, rdn, sizeof(rdn));
        n += sizeof(rdn);
    }
    n = wrap(built, n, 0x30);
    assert_int_equal(tls_dn_format(built, n, text, TLS_DN_TEXT_MAX(n), NULL), 0);
    assert_int_equal(strlen(text), 1000 * 11 - 1);
}

/* Every single-byte change of two names: never a crash, check and format agree, and any text
 * is clean and within the bound. */
static void test_mutations(void **state)
{
    (void)state;
    const struct {
        const uint8_t *p;
        size_t len;
    } all[] = {{der_full, sizeof(der_full)}, {der_bmp, sizeof(der_bmp)}};
    size_t ok = 0, bad = 0;
    for (size_t s = 0; s < sizeof(all) / sizeof(all[0]); s++) {
        for (size_t i = 0; i < all[s].len; i++) {
            for (int b = 0; b < 256; b++) {
                uint8_t m[256];
                memcpy(m, all[s].p, all[s].len);
                m[i] = (uint8_t)b;
                size_t n = 0;
                int rc = tls_dn_format(m, all[s].len, text, TLS_DN_TEXT_MAX(all[s].len), &n);
                assert_true(rc == 0 || rc == TLS_E_DER);
                assert_int_equal(tls_dn_check(m, all[s].len), rc);
                if (rc == 0) {
                    assert_int_equal(strlen(text), n);
                    assert_true(text_is_clean(text, n));
                    ok++;
                } else {
                    bad++;
                }
            }
        }
    }
    assert_true(ok > 0 && bad > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_names),
        cmocka_unit_test(test_order_and_short_names),
        cmocka_unit_test(test_order_many),
        cmocka_unit_test(test_multi_valued),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_leading_trailing),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_string_types),
        cmocka_unit_test(test_bmp_string),
        cmocka_unit_test(test_teletex_string),
        cmocka_unit_test(test_universal_string),
        cmocka_unit_test(test_unknown_oid),
        cmocka_unit_test(test_known_oid_non_string),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_length_overrun),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_indefinite_length),
        cmocka_unit_test(test_oversized_and_nonminimal_length),
        cmocka_unit_test(test_bad_structure),
        cmocka_unit_test(test_bad_oid),
        cmocka_unit_test(test_bad_tag),
        cmocka_unit_test(test_space),
        cmocka_unit_test(test_text_max),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
