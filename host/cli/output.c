/*
 * output.c - what `udfu` prints: errors (text on stderr, or JSON on
 * stdout), the progress bar (only on a terminal), JSON, device summaries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- errors and notes ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static int utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    int n, i;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    for (i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL */
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

/* JSON must be UTF-8 (RFC 8259 8.1); device strings, file names and DfuSe
 * target names may hold any bytes: those that are not UTF-8 become
 * U+FFFD. */
static void json_escaped(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    putchar('"');
    while (*s) {
        unsigned char ch = *s;
        int n = utf8_len(s);
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch < 0x20 || ch == 0x7F)
            printf("\\u%04x", ch);
        else if (n == 0)
            fputs("\\ufffd", stdout);
        else
            fwrite(s, 1, (size_t)n, stdout);
        s += n ? n : 1;
    }
    putchar('"');
}

static void report(struct cli *c, int code, const char *msg)
{
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 0);
        json_str("command", c->command ? c->command : "");
        json_int("exit", code);
        json_str("error", msg);
        json_close('}');
        json_end();
    } else {
        fprintf(stderr, "udfu: error: %s\n", msg);
    }
}

int cli_error(struct cli *c, int code, const char *fmt, ...)
{
    char msg[UDFU_HOST_MSG_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report(c, code, msg);
    return code;
}

int cli_exit_for(int err)
{
    switch (err) {
    case UDFU_OK: return EXIT_OK;
    case UDFU_ERR_RANGE:
    case UDFU_ERR_PERM: return EXIT_ADDRESS;
    case UDFU_ERR_NODEV: return EXIT_NODEV;
    case UDFU_ERR_TIMEOUT:
    case UDFU_ERR_IO: return EXIT_TRANSFER;
    case UDFU_ERR_FORMAT:
    case UDFU_ERR_CRC: return EXIT_FILE;
    case UDFU_ERR_INVAL: return EXIT_USAGE;
    case UDFU_ERR_STALL:
    case UDFU_ERR_STATE:
    case UDFU_ERR_ERASE:
    case UDFU_ERR_PROG:
    case UDFU_ERR_VERIFY:
    case UDFU_ERR_NOT_ERASED:
    case UDFU_ERR_FIRMWARE:
    case UDFU_ERR_UNSUPPORTED: return EXIT_DEVICE;
    default: return EXIT_FAIL;
    }
}

int cli_dev_error(struct cli *c, struct udfu_host_dev *d, int err)
{
    const char *msg = d ? udfu_host_message(d) : "";
    if (c->bar && c->bar_phase >= 0)
        fputc('\n', stderr);
    c->bar_phase = -1;
    return cli_error(c, cli_exit_for(err), "%s", msg[0] ? msg : udfu_strerror(err));
}

void cli_note(struct cli *c, const char *fmt, ...)
{
    va_list ap;
    if (c->quiet || c->json)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- sizes and progress ----------------------------------------------------- */

void cli_size(char *buf, size_t size, uint64_t bytes)
{
    if (bytes < 1024)
        snprintf(buf, size, "%u B", (unsigned)bytes);
    else if (bytes < 1024u * 1024u)
        snprintf(buf, size, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(buf, size, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

static const char *phase_name(enum udfu_host_phase p)
{
    switch (p) {
    case UDFU_HOST_ERASE: return "erase";
    case UDFU_HOST_DOWNLOAD: return "download";
    case UDFU_HOST_UPLOAD: return "upload";
    case UDFU_HOST_MANIFEST: return "manifest";
    default: return "detach";
    }
}

void cli_progress(void *ctx, enum udfu_host_phase phase, uint64_t done, uint64_t total)
{
    struct cli *c = ctx;
    char a[32], b[32];
    int pct, fill, i;
    if (!c->bar || total == 0)
        return;
    pct = (int)(done * 100u / total);
    if (done == 0) {
        c->bar_phase = (int)phase;
        c->bar_last = -1;
    }
    if (pct == c->bar_last && done != total)
        return;
    c->bar_last = pct;
    fill = pct * 30 / 100;
    fprintf(stderr, "\r%-9s [", phase_name(phase));
    for (i = 0; i < 30; i++)
        fputc(i < fill ? '#' : (i == fill ? '>' : ' '), stderr);
    cli_size(a, sizeof a, done);
    cli_size(b, sizeof b, total);
    if (phase == UDFU_HOST_MANIFEST || phase == UDFU_HOST_DETACH)
        fprintf(stderr, "] %3d%%", pct);
    else
        fprintf(stderr, "] %3d%%  %s / %s   ", pct, a, b);
    if (done >= total) {
        fputc('\n', stderr);
        c->bar_phase = -1;
    }
    fflush(stderr);
}

/* ---- JSON ------------------------------------------------------------------- */

static int need_comma[32];
static int depth;

static void key_prefix(const char *key)
{
    if (depth > 0 && need_comma[depth])
        putchar(',');
    if (depth > 0)
        need_comma[depth] = 1;
    if (key) {
        json_escaped(key);
        putchar(':');
    }
}

void json_open(const char *key, char bracket)
{
    key_prefix(key);
    putchar(bracket);
    if (depth < 31)
        need_comma[++depth] = 0;
}

void json_close(char bracket)
{
    putchar(bracket);
    if (depth > 0)
        depth--;
}

void json_str(const char *key, const char *v)
{
    key_prefix(key);
    json_escaped(v);
}

void json_int(const char *key, long long v)
{
    key_prefix(key);
    printf("%lld", v);
}

void json_bool(const char *key, int v)
{
    key_prefix(key);
    fputs(v ? "true" : "false", stdout);
}

void json_end(void)
{
    putchar('\n');
    fflush(stdout);
}

/* ---- device summaries ----------------------------------------------------------- */

const char *cli_attr_word(uint8_t attr)
{
    static const char *const words[8] = {
        "none", "read-only", "erase-only", "read/erase", "write-only", "read/write",
        "erase/write", "read/erase/write",
    };
    return words[attr & 7u];
}

static void print_regions(const struct udfu_host_alt *a)
{
    int i;
    for (i = 0; i < a->region_count; i++) {
        const struct udfu_region *r = &a->regions[i];
        uint32_t size = r->sector_size * r->sector_count;
        char ss[32];
        cli_size(ss, sizeof ss, r->sector_size);
        printf("      0x%08X-0x%08X  %3u x %-9s %s\n", (unsigned)r->start,
               (unsigned)(r->start + size - 1u), r->sector_count, ss, cli_attr_word(r->attr));
    }
}

static void print_attrs(uint8_t a)
{
    printf("%s%s%s%s", a & UDFU_ATTR_CAN_DNLOAD ? " download" : "",
           a & UDFU_ATTR_CAN_UPLOAD ? " upload" : "",
           a & UDFU_ATTR_MANIFEST_TOLERANT ? " manifest-tolerant" : "",
           a & UDFU_ATTR_WILL_DETACH ? " will-detach" : "");
}

void cli_print_info(struct cli *c, const struct udfu_host_info *info)
{
    uint8_t i;
    (void)c;
    printf("%04x:%04x  %s  at %s\n", info->vid, info->pid,
           info->protocol == UDFU_PROTOCOL_DFU ? "DFU mode" : "run-time mode", info->where);
    if (!info->strings_ok) {
        printf("    (cannot open it to read its strings: no permission, or in use)\n");
        return;
    }
    printf("    \"%s\" by \"%s\", serial \"%s\"\n", info->product, info->manufacturer,
           info->serial);
    printf("    interface %u, DFU %x.%02x%s, transfer size %u, detach timeout %u ms,",
           info->interface, info->bcd_dfu >> 8, info->bcd_dfu & 0xFF,
           info->bcd_dfu == UDFU_BCD_DFUSE ? " (DfuSe)" : "", info->transfer_size,
           info->detach_timeout);
    print_attrs(info->attributes);
    printf("\n");
    for (i = 0; i < info->alt_count; i++) {
        const struct udfu_host_alt *a = &info->alts[i];
        printf("    alt %u: \"%s\"%s\n", a->alt, a->dfuse ? a->mem_name : a->name,
               cli_bad_layout(info, a) ? "  (DfuSe layout that does not parse: unusable)"
                                       : "");
        if (a->dfuse)
            print_regions(a);
    }
}

static void json_regions(const struct udfu_host_alt *a)
{
    int i;
    json_open("regions", '[');
    for (i = 0; i < a->region_count; i++) {
        const struct udfu_region *r = &a->regions[i];
        json_open(NULL, '{');
        json_int("start", r->start);
        json_int("size", (long long)r->sector_size * r->sector_count);
        json_int("sector_size", r->sector_size);
        json_int("sectors", r->sector_count);
        json_bool("readable", (r->attr & UDFU_MEM_READ) != 0);
        json_bool("erasable", (r->attr & UDFU_MEM_ERASE) != 0);
        json_bool("writable", (r->attr & UDFU_MEM_WRITE) != 0);
        json_close('}');
    }
    json_close(']');
}

void cli_json_info(const struct udfu_host_info *info)
{
    uint8_t i;
    json_open(NULL, '{');
    json_int("vid", info->vid);
    json_int("pid", info->pid);
    json_str("where", info->where);
    json_str("mode", info->protocol == UDFU_PROTOCOL_DFU ? "dfu" : "runtime");
    json_bool("strings", info->strings_ok);
    json_str("manufacturer", info->manufacturer);
    json_str("product", info->product);
    json_str("serial", info->serial);
    json_int("interface", info->interface);
    json_int("bcd_dfu", info->bcd_dfu);
    json_int("transfer_size", info->transfer_size);
    json_int("detach_timeout", info->detach_timeout);
    json_int("attributes", info->attributes);
    json_open("alts", '[');
    for (i = 0; i < info->alt_count; i++) {
        const struct udfu_host_alt *a = &info->alts[i];
        json_open(NULL, '{');
        json_int("alt", a->alt);
        json_str("name", a->name);
        json_bool("dfuse", a->dfuse);
        if (cli_bad_layout(info, a))
            json_bool("layout_error", 1);
        if (a->dfuse) {
            json_str("memory", a->mem_name);
            json_regions(a);
        }
        json_close('}');
    }
    json_close(']');
    json_close('}');
}
