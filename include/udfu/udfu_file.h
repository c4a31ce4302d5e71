/*
 * udfu_file.h - DFU file formats: the DFU suffix (DFU 1.1 appendix B), ST's
 * DfuSe container (UM0391), and the CRC-32 they use. No allocation: parsers
 * walk the caller's buffer and hand out pointers into it; writers fill the
 * caller's buffer. Used by the host tool and tests; a device may use it too.
 */
#ifndef UDFU_FILE_H
#define UDFU_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32 of the DFU suffix: reflected, polynomial 0xEDB88320, start value
 * 0xFFFFFFFF and NO final xor. Chain calls by passing the last result;
 * start with UDFU_CRC32_INIT. */
#define UDFU_CRC32_INIT 0xFFFFFFFFu
uint32_t udfu_crc32(uint32_t crc, const void *data, size_t len);

/* ---- DFU suffix (16 bytes at the end of a file) ---------------------------- */

#define UDFU_SUFFIX_LEN 16
#define UDFU_ID_ANY 0xFFFFu /* vid/pid/bcdDevice wildcard */

struct udfu_suffix {
    uint16_t bcd_device;
    uint16_t pid;
    uint16_t vid;
    uint16_t bcd_dfu; /* 0x0100, 0x0110 or 0x011A (DfuSe) */
    uint32_t crc;     /* dwCRC as stored */
};

/* Parses and verifies the suffix of file[0..len). Returns the payload
 * length (len minus bLength), UDFU_ERR_FORMAT (shorter than 16 bytes, no
 * "UFD" signature, bLength < 16 or > len, payload over INT_MAX) or
 * UDFU_ERR_CRC (dwCRC does not match). out may be NULL; it is only written
 * on success. Reads nothing outside file[0..len). */
int udfu_suffix_parse(const uint8_t *file, size_t len, struct udfu_suffix *out);

/* Appends a suffix (CRC computed here) after the payload buf[0..len).
 * buf must have room for len + 16 bytes (cap). sx == NULL writes the
 * wildcard IDs (0xFFFF) and bcdDFU 0x0100, as dfu-suffix does. Returns the
 * new length or UDFU_ERR_NOSPACE (also when it would not fit an int). */
int udfu_suffix_append(uint8_t *buf, size_t len, size_t cap, const struct udfu_suffix *sx);

/* ---- DfuSe container ------------------------------------------------------ */

#define UDFU_DFUSE_PREFIX_LEN 11
#define UDFU_DFUSE_TARGET_PREFIX_LEN 274
#define UDFU_DFUSE_ELEMENT_HDR_LEN 8

struct udfu_dfuse_element {
    uint32_t address;
    uint32_t size;
    const uint8_t *data; /* points into the parsed file */
};

struct udfu_dfuse_target {
    uint8_t alt;
    uint8_t named;      /* bTargetNamed != 0 */
    char name[256];     /* NUL-terminated, "" when not named */
    uint32_t size;      /* dwTargetSize: bytes of its elements incl. headers */
    uint32_t elements;  /* dwNbElements */
};

/* Reader over a whole DfuSe file (prefix ... suffix included). The fields
 * are private; element data points into the caller's file, which must stay
 * alive and unchanged while the reader and its elements are used. */
struct udfu_dfuse_reader {
    const uint8_t *file;
    size_t len;         /* without the suffix */
    size_t pos;
    uint8_t targets;    /* bTargets */
    uint8_t target_no;  /* targets read so far */
    uint32_t elems_left;
    size_t target_end;
};

/* Checks the suffix (bcdDFU 0x011A, CRC), the "DfuSe" prefix, version 1
 * and DFUImageSize, which may count the file without the suffix (UM0391,
 * ST's tools, udfu) or with it (dfuse-pack); then walks the whole layout
 * once, so a file that opens has no bad size anywhere: every target and
 * element fits its parent, dwTargetSize is exactly the sum of its
 * elements, and bTargets targets end exactly at the suffix.
 * 0, UDFU_ERR_FORMAT or UDFU_ERR_CRC. After a failure of the suffix or
 * prefix checks the reader is empty (next_target returns 0). */
int udfu_dfuse_open(struct udfu_dfuse_reader *r, const uint8_t *file, size_t len);
/* Next target (skipping unread elements of the current one): 1 read, 0 no
 * more, < 0 malformed (sizes that overrun the file, element sizes that
 * disagree with dwTargetSize ...). t may be NULL. */
int udfu_dfuse_next_target(struct udfu_dfuse_reader *r, struct udfu_dfuse_target *t);
/* Next element of the current target: 1, 0 (none left), or < 0 (its data
 * overruns the target, or its addresses run past 4 GiB). e may be NULL. */
int udfu_dfuse_next_element(struct udfu_dfuse_reader *r, struct udfu_dfuse_element *e);

/* Writer. Call begin, then per target target(), then per element element(),
 * then finish() which fills in sizes and appends the suffix (bcd_dfu is
 * forced to 0x011A; sx == NULL means wildcard IDs). All return 0 or
 * UDFU_ERR_NOSPACE / UDFU_ERR_INVAL. buf belongs to the writer until
 * finish(); a full buffer leaves the file as it was before the failed call.
 * DFUImageSize is written without the suffix, as UM0391 says. */
struct udfu_dfuse_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t target_pos;  /* offset of the current target prefix */
    uint8_t targets;
};
int udfu_dfuse_begin(struct udfu_dfuse_writer *w, uint8_t *buf, size_t cap);
/* name NULL: bTargetNamed 0; else at most 255 characters (255 fill the
 * field with no terminating NUL, as the reader accepts; INVAL beyond,
 * and after 255 targets). */
int udfu_dfuse_target(struct udfu_dfuse_writer *w, uint8_t alt, const char *name);
/* INVAL before the first target and for an element that runs past 4 GiB.
 * data (size bytes, NULL if 0) is copied and must not overlap buf. */
int udfu_dfuse_element(struct udfu_dfuse_writer *w, uint32_t address, const uint8_t *data,
                       uint32_t size);
/* Returns the total file length or < 0. */
int udfu_dfuse_finish(struct udfu_dfuse_writer *w, const struct udfu_suffix *sx);

/* ---- Intel HEX (host side: packing .hex into .dfu) ------------------------- */

/* Callback per data run: contiguous bytes at a 32-bit address. */
typedef int (*udfu_ihex_cb)(void *ctx, uint32_t address, const uint8_t *data, uint32_t len);

/* Parses Intel HEX text (record types 00, 01, 02, 04, 03/05 ignored),
 * checking every record checksum and length. Calls cb per data record, as
 * Intel's rules place it: after a linear base (type 04) a record runs on
 * into the next 64 KiB; with a segment base (type 02, or none) a record
 * whose 16-bit offset passes 0xFFFF is handed over as two runs, the second
 * at the segment base; a linear record that passes 4 GiB, as two runs, the
 * second at 0. Blank lines and CR/LF are fine;
 * anything after the end-of-file record is ignored; its absence is an
 * error. cb may be NULL (validate only); a negative return stops parsing.
 * Returns 0, UDFU_ERR_FORMAT or the callback's error, with *line (if line
 * is not NULL) set to the 1-based line where it stopped. */
int udfu_ihex_parse(const char *text, size_t len, udfu_ihex_cb cb, void *ctx, int *line);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_FILE_H */
