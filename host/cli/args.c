/*
 * args.c - command-line parsing for `udfu`: options may come before or
 * after the command and its arguments; each command then says which
 * options it takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct opt {
    const char *name;
    char short_name;
    unsigned flag;  /* OPT_*, 0 for the global switches */
    int has_arg;
};

static const struct opt opts[] = {
    {"usbip", 0, OPT_USBIP, 1},     {"busid", 0, OPT_BUSID, 1},
    {"device", 'd', OPT_DEVICE, 1}, {"serial", 'S', OPT_SERIAL, 1},
    {"path", 'p', OPT_PATH, 1},     {"intf", 0, OPT_INTF, 1},
    {"alt", 'a', OPT_ALT, 1},       {"address", 's', OPT_ADDRESS, 1},
    {"length", 'l', OPT_LENGTH, 1}, {"mass", 0, OPT_MASS, 0},
    {"leave", 0, OPT_LEAVE, 0},     {"verify", 0, OPT_VERIFY, 0},
    {"force", 'f', OPT_FORCE, 0},   {"output", 'o', OPT_OUTPUT, 1},
    {"dfuse", 0, OPT_DFUSE, 0},     {"vid", 0, OPT_VID, 1},
    {"pid", 0, OPT_PID, 1},         {"bcd-device", 0, OPT_BCD, 1},
    {"name", 0, OPT_NAME, 1},       {"wait", 'w', OPT_WAIT, 0},
    {"timeout", 't', OPT_TIMEOUT, 1},
    {"boot-header", 0, OPT_BOOT_HEADER, 0},
    {"image-version", 0, OPT_IMAGE_VERSION, 1},
    {"header-size", 0, OPT_HEADER_SIZE, 1},
    {"raw", 0, OPT_RAW, 0},
    {"json", 0, 0, 0},              {"quiet", 'q', 0, 0},
    {"verbose", 'v', 0, 0},         {"help", 'h', 0, 0},
    {"version", 'V', 0, 0},
};

int cli_number(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-')
        return -1;
    v = strtoull(s, &end, 0);
    if (*end == 'K' || *end == 'k') {
        v *= 1024u;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1024u * 1024u;
        end++;
    }
    if (*end || v > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int usage_error(struct cli *c, const char *fmt, const char *arg)
{
    char buf[256];
    snprintf(buf, sizeof buf, fmt, arg);
    return cli_error(c, EXIT_USAGE, "%s; see `udfu %s%s--help`", buf,
                     c->command ? c->command : "", c->command ? " " : "");
}

static int id16(struct cli *c, const char *s, uint16_t *out, const char *what)
{
    uint32_t v;
    if (cli_number(s, &v) < 0 || v > 0xFFFF)
        return usage_error(c, what, s);
    *out = (uint16_t)v;
    return 0;
}

static int parse_host(struct cli *c, const char *s)
{
    const char *colon = strrchr(s, ':');
    size_t n = colon && !strchr(colon, ']') ? (size_t)(colon - s) : strlen(s);
    uint32_t port = UDFU_HOST_USBIP_PORT;
    if (n == 0 || n >= sizeof c->usbip_host)
        return usage_error(c, "bad --usbip host \"%s\"", s);
    if (colon && n < strlen(s) && (cli_number(colon + 1, &port) < 0 || !port || port > 65535))
        return usage_error(c, "bad --usbip port in \"%s\"", s);
    memcpy(c->usbip_host, s, n);
    c->usbip_host[n] = 0;
    c->usbip_port = (uint16_t)port;
    c->use_usbip = 1;
    return 0;
}

/* One ID of VID:PID: 1 to 4 hex digits (an optional 0x), or empty for
 * "any". A typo must not become 0, which matches any device. 0 or -1. */
static int hex_id(const char *s, size_t n, uint32_t *out)
{
    size_t i;
    uint32_t v = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
        if (n == 0)
            return -1;
    }
    if (n > 4)
        return -1;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static int parse_vidpid(struct cli *c, const char *s)
{
    const char *colon = strchr(s, ':');
    uint32_t v = 0, p = 0;
    if (!colon)
        return usage_error(c, "--device wants VID:PID in hex, like 0483:df11, not \"%s\"", s);
    if (hex_id(s, (size_t)(colon - s), &v) < 0 || hex_id(colon + 1, strlen(colon + 1), &p) < 0)
        return usage_error(c, "bad VID:PID \"%s\": each is up to 4 hex digits, like "
                           "0483:df11 (either may be empty: 0483:)", s);
    c->match.vid = (int)v;
    c->match.pid = (int)p;
    return 0;
}

static int set_value(struct cli *c, unsigned flag, const char *v)
{
    uint32_t n;
    switch (flag) {
    case OPT_USBIP: return parse_host(c, v);
    case OPT_BUSID: c->busid = v; return 0;
    case OPT_DEVICE: return parse_vidpid(c, v);
    case OPT_SERIAL: c->match.serial = v; return 0;
    case OPT_PATH: c->match.path = v; return 0;
    case OPT_INTF:
        if (cli_number(v, &n) < 0 || n > 255)
            return usage_error(c, "bad --intf \"%s\"", v);
        c->match.interface = (int)n + 1;
        return 0;
    case OPT_ALT: c->alt = v; return 0;
    case OPT_ADDRESS:
        return cli_number(v, &c->address) < 0 ? usage_error(c, "bad --address \"%s\"", v) : 0;
    case OPT_LENGTH:
        return cli_number(v, &c->length) < 0 || !c->length
                   ? usage_error(c, "bad --length \"%s\" (a positive number)", v) : 0;
    case OPT_OUTPUT: c->output = v; return 0;
    case OPT_VID: return id16(c, v, &c->vid, "bad --vid \"%s\"");
    case OPT_PID: return id16(c, v, &c->pid, "bad --pid \"%s\"");
    case OPT_BCD: return id16(c, v, &c->bcd, "bad --bcd-device \"%s\"");
    case OPT_NAME: c->name = v; return 0;
    case OPT_TIMEOUT:
        return cli_number(v, &c->timeout_ms) < 0 ? usage_error(c, "bad --timeout \"%s\"", v) : 0;
    case OPT_IMAGE_VERSION:
        return cli_number(v, &c->image_version) < 0
                   ? usage_error(c, "bad --image-version \"%s\" (a number, 0..0xFFFFFFFF)", v)
                   : 0;
    case OPT_HEADER_SIZE:
        return cli_number(v, &c->header_size) < 0 || c->header_size < 128 ||
                       c->header_size % 4 || c->header_size > 65536
                   ? usage_error(c, "bad --header-size \"%s\" (128..65536, a multiple of 4)", v)
                   : 0;
    }
    return 0;
}

static void set_switch(struct cli *c, const struct opt *o)
{
    if (o->flag == OPT_MASS)
        c->mass = 1;
    else if (o->flag == OPT_LEAVE)
        c->leave = 1;
    else if (o->flag == OPT_VERIFY)
        c->verify = 1;
    else if (o->flag == OPT_FORCE)
        c->force = 1;
    else if (o->flag == OPT_DFUSE)
        c->dfuse = 1;
    else if (o->flag == OPT_WAIT)
        c->wait = 1;
    else if (o->flag == OPT_BOOT_HEADER)
        c->boot_header = 1;
    else if (o->flag == OPT_RAW)
        c->raw = 1;
    else if (!strcmp(o->name, "json"))
        c->json = 1;
    else if (!strcmp(o->name, "quiet"))
        c->quiet = 1;
    else if (!strcmp(o->name, "verbose"))
        c->verbose = 1;
    else if (!strcmp(o->name, "help"))
        c->help = 1;
    else if (!strcmp(o->name, "version"))
        c->version = 1;
}

static const struct opt *find_opt(const char *arg, const char **value)
{
    size_t i;
    *value = NULL;
    for (i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const struct opt *o = &opts[i];
        if (arg[1] == '-') {
            size_t n = strlen(o->name);
            if (strncmp(arg + 2, o->name, n) == 0 && (arg[2 + n] == 0 || arg[2 + n] == '=')) {
                if (arg[2 + n] == '=')
                    *value = arg + 3 + n;
                return o;
            }
        } else if (o->short_name && arg[1] == o->short_name && arg[2] == 0) {
            return o;
        }
    }
    return NULL;
}

static int take_option(struct cli *c, int argc, char **argv, int *i)
{
    const char *value;
    const struct opt *o = find_opt(argv[*i], &value);
    if (!o)
        return usage_error(c, "unknown option %s", argv[*i]);
    c->given |= o->flag;
    if (!o->has_arg) {
        if (value)
            return usage_error(c, "option --%s takes no value", o->name);
        set_switch(c, o);
        return 0;
    }
    if (!value) {
        if (*i + 1 >= argc)
            return usage_error(c, "option %s needs a value", argv[*i]);
        value = argv[++*i];
    }
    return set_value(c, o->flag, value);
}

int cli_parse(struct cli *c, int argc, char **argv)
{
    int i, err, rest = 0;
    /* --json also covers errors in the options before it. */
    for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            c->json = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!rest && !strcmp(a, "--")) {
            rest = 1;
        } else if (!rest && a[0] == '-' && a[1]) {
            if ((err = take_option(c, argc, argv, &i)) != 0)
                return err;
        } else if (!c->command) {
            c->command = a;
        } else if (c->nargs < (int)(sizeof c->args / sizeof c->args[0])) {
            c->args[c->nargs++] = a;
        } else {
            return usage_error(c, "too many arguments (%s)", a);
        }
    }
    return 0;
}

static const char *flag_name(unsigned flag)
{
    size_t i;
    for (i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].flag == flag)
            return opts[i].name;
    return "?";
}

int cli_allow(struct cli *c, unsigned allowed)
{
    unsigned bad = c->given & ~allowed;
    unsigned bit;
    if (!bad)
        return 0;
    for (bit = 1; !(bad & bit); bit <<= 1)
        ;
    return cli_error(c, EXIT_USAGE, "`udfu %s` does not take --%s; see `udfu %s --help`",
                     c->command, flag_name(bit), c->command);
}
