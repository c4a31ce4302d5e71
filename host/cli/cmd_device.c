/*
 * cmd_device.c - opening the selected device, and the small device
 * commands: status, detach, erase, leave.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_open(struct cli *c, struct udfu_host_dev **out)
{
    struct udfu_host_dev *d = udfu_host_new();
    int err;
    *out = NULL;
    if (!d)
        return cli_error(c, EXIT_FAIL, "out of memory");
    udfu_host_set_progress(d, cli_progress, c);
    udfu_host_set_timeout(d, c->timeout_ms);
    if (c->use_usbip || c->busid)
        err = udfu_host_open_usbip(d, c->use_usbip ? c->usbip_host : NULL, c->usbip_port,
                                   c->busid, &c->match);
    else
        err = udfu_host_open_libusb(d, &c->match);
    if (err < 0) {
        /* Several candidates is a selection problem, not a usage one. */
        int code = err == UDFU_ERR_INVAL ? EXIT_NODEV : cli_exit_for(err);
        code = cli_error(c, code, "%s", udfu_host_message(d));
        udfu_host_free(d);
        return code;
    }
    if (c->verbose) {
        const struct udfu_host_info *i = udfu_host_info(d);
        cli_note(c, "opened %04x:%04x \"%s\" at %s (%s mode)", i->vid, i->pid, i->product,
                 i->where, i->protocol == UDFU_PROTOCOL_DFU ? "DFU" : "run-time");
    }
    *out = d;
    return 0;
}

int cli_select_alt(struct cli *c, struct udfu_host_dev *d)
{
    uint32_t n;
    int alt, err;
    if (!c->alt)
        return 0;
    if (cli_number(c->alt, &n) == 0 && n <= 255) {
        alt = (int)n;
    } else if ((alt = udfu_host_find_alt(d, c->alt)) < 0) {
        return cli_error(c, EXIT_USAGE, "the device has no alt setting named \"%s\"; `udfu "
                         "list` shows the names", c->alt);
    }
    err = udfu_host_select_alt(d, (uint8_t)alt);
    return err < 0 ? cli_dev_error(c, d, err) : 0;
}

int cli_need_dfu(struct cli *c, struct udfu_host_dev *d)
{
    int err;
    if (udfu_host_info(d)->protocol == UDFU_PROTOCOL_DFU)
        return 0;
    cli_note(c, "the device is in run-time mode: detaching it into DFU mode");
    err = udfu_host_detach(d, c->timeout_ms > 10000 ? c->timeout_ms : 0);
    return err < 0 ? cli_dev_error(c, d, err) : 0;
}

int cli_bad_layout(const struct udfu_host_info *info, const struct udfu_host_alt *a)
{
    return info->bcd_dfu == UDFU_BCD_DFUSE && !a->dfuse && a->name[0] == '@';
}

int cli_usable_alt(struct cli *c, struct udfu_host_dev *d)
{
    const struct udfu_host_info *info = udfu_host_info(d);
    uint8_t i;
    for (i = 0; i < info->alt_count; i++)
        if (info->alts[i].alt == udfu_host_alt(d) && cli_bad_layout(info, &info->alts[i]))
            /* the library refuses it too, and says why */
            return cli_dev_error(c, d, udfu_host_dfuse_check(d, 0, 0, 0));
    return 0;
}

/* Opens, then finishes with the device whatever the command's outcome. */
static int with_device(struct cli *c, unsigned allowed,
                       int (*fn)(struct cli *c, struct udfu_host_dev *d))
{
    struct udfu_host_dev *d;
    int code = cli_allow(c, allowed);
    if (code == 0 && c->nargs)
        code = cli_error(c, EXIT_USAGE, "`udfu %s` takes no argument \"%s\"", c->command,
                         c->args[0]);
    if (code == 0)
        code = cli_open(c, &d);
    if (code)
        return code;
    code = fn(c, d);
    udfu_host_free(d);
    return code;
}

static void json_device(const struct udfu_host_info *i)
{
    json_int("vid", i->vid);
    json_int("pid", i->pid);
    json_str("where", i->where);
    json_str("mode", i->protocol == UDFU_PROTOCOL_DFU ? "dfu" : "runtime");
}

/* ---- status ------------------------------------------------------------------ */

static int do_status(struct cli *c, struct udfu_host_dev *d)
{
    const struct udfu_host_info *i = udfu_host_info(d);
    struct udfu_host_status st;
    int err = udfu_host_get_status(d, &st);
    /* A run-time interface may stall GETSTATUS: that means appIDLE. */
    if (err == UDFU_ERR_STALL && i->protocol == UDFU_PROTOCOL_RUNTIME) {
        memset(&st, 0, sizeof st);
        err = 0;
    }
    if (err < 0)
        return cli_dev_error(c, d, err);
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "status");
        json_device(i);
        json_str("state", udfu_state_name(st.state));
        json_int("state_code", st.state);
        json_str("status", udfu_status_name(st.status));
        json_int("status_code", st.status);
        json_int("poll_ms", st.poll_ms);
        json_close('}');
        json_end();
    } else {
        printf("%04x:%04x at %s: %s mode, state %s (%u), status %s (%u), poll %u ms\n",
               i->vid, i->pid, i->where,
               i->protocol == UDFU_PROTOCOL_DFU ? "DFU" : "run-time",
               udfu_state_name(st.state), st.state, udfu_status_name(st.status), st.status,
               (unsigned)st.poll_ms);
    }
    return EXIT_OK;
}

int cmd_status(struct cli *c)
{
    return with_device(c, OPT_SELECT, do_status);
}

/* ---- detach -------------------------------------------------------------------- */

static int do_detach(struct cli *c, struct udfu_host_dev *d)
{
    const struct udfu_host_info *i;
    int was_dfu = udfu_host_info(d)->protocol == UDFU_PROTOCOL_DFU;
    int code = cli_need_dfu(c, d);
    if (code)
        return code;
    i = udfu_host_info(d);
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "detach");
        json_bool("was_dfu", was_dfu);
        json_device(i);
        json_close('}');
        json_end();
    } else if (!c->quiet) {
        printf("%s %04x:%04x at %s is in DFU mode\n", was_dfu ? "already:" : "done:", i->vid,
               i->pid, i->where);
    }
    return EXIT_OK;
}

int cmd_detach(struct cli *c)
{
    return with_device(c, OPT_SELECT, do_detach);
}

/* ---- erase ---------------------------------------------------------------------- */

static int need_dfuse(struct cli *c, struct udfu_host_dev *d)
{
    if (udfu_host_is_dfuse(d))
        return 0;
    return cli_error(c, EXIT_DEVICE, "alt %u of this device is plain DFU (no DfuSe memory "
                     "layout): it cannot %s by address; plain devices erase what a download "
                     "overwrites", udfu_host_alt(d), c->command);
}

static int do_erase(struct cli *c, struct udfu_host_dev *d)
{
    int code = cli_need_dfu(c, d), err;
    if (!code)
        code = cli_select_alt(c, d);
    if (!code)
        code = cli_usable_alt(c, d);
    if (!code)
        code = need_dfuse(c, d);
    if (code)
        return code;
    err = c->mass ? udfu_host_dfuse_mass_erase(d) : udfu_host_dfuse_erase(d, c->address, c->length);
    if (err < 0)
        return cli_dev_error(c, d, err);
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "erase");
        json_bool("mass", c->mass);
        if (!c->mass) {
            json_int("address", c->address);
            json_int("length", c->length);
        }
        json_close('}');
        json_end();
    } else if (!c->quiet) {
        if (c->mass)
            printf("mass erase done\n");
        else
            printf("erased the sectors of 0x%08X-0x%08X\n", (unsigned)c->address,
                   (unsigned)(c->address + c->length - 1u));
    }
    return EXIT_OK;
}

int cmd_erase(struct cli *c)
{
    const unsigned allowed = OPT_SELECT | OPT_ALT | OPT_ADDRESS | OPT_LENGTH | OPT_MASS;
    int both = (c->given & OPT_ADDRESS) && (c->given & OPT_LENGTH);
    int code = cli_allow(c, allowed);
    if (code)
        return code;
    if (c->mass && (c->given & (OPT_ADDRESS | OPT_LENGTH)))
        return cli_error(c, EXIT_USAGE, "--mass erases everything: drop --address/--length");
    if (!c->mass && !both)
        return cli_error(c, EXIT_USAGE, "give either --address and --length, or --mass; see "
                         "`udfu erase --help`");
    return with_device(c, allowed, do_erase);
}

/* ---- leave ------------------------------------------------------------------------ */

static void leave_report(struct cli *c, struct udfu_host_dev *d, int dfuse, int waited)
{
    const struct udfu_host_info *i = udfu_host_info(d);
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "leave");
        json_bool("dfuse", dfuse);
        if (c->given & OPT_ADDRESS)
            json_int("address", c->address);
        if (waited)
            json_device(i);
        json_close('}');
        json_end();
    } else if (!c->quiet) {
        printf("left DFU mode\n");
        if (waited)
            printf("the device is back at %s as %04x:%04x in %s mode\n", i->where, i->vid,
                   i->pid, i->protocol == UDFU_PROTOCOL_DFU ? "DFU" : "run-time");
    }
}

static int do_leave(struct cli *c, struct udfu_host_dev *d)
{
    int dfuse, err, code;
    if (udfu_host_info(d)->protocol == UDFU_PROTOCOL_RUNTIME) {
        cli_note(c, "the device is in run-time mode already");
        leave_report(c, d, 0, 1);
        return EXIT_OK;
    }
    if ((code = cli_select_alt(c, d)) != 0 || (code = cli_usable_alt(c, d)) != 0)
        return code;
    dfuse = udfu_host_is_dfuse(d);
    if (!dfuse && (c->given & OPT_ADDRESS))
        return cli_error(c, EXIT_USAGE, "--address is for DfuSe devices; this alt is plain "
                         "DFU, which leaves with a bus reset");
    err = dfuse ? udfu_host_dfuse_leave(d, (c->given & OPT_ADDRESS) != 0, c->address)
                : udfu_host_reset(d);
    if (err == 0 && c->wait)
        err = udfu_host_reconnect(d, 0, c->timeout_ms > 10000 ? c->timeout_ms : 0);
    if (err < 0)
        return cli_dev_error(c, d, err);
    leave_report(c, d, dfuse, c->wait);
    return EXIT_OK;
}

int cmd_leave(struct cli *c)
{
    return with_device(c, OPT_SELECT | OPT_ALT | OPT_ADDRESS | OPT_WAIT, do_leave);
}
