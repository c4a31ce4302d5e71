/*
 * cmd_list.c - `udfu list`: the DFU devices on USB or on a USB/IP server.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_list(struct cli *c)
{
    struct udfu_host_info *list = NULL;
    char msg[UDFU_HOST_MSG_LEN] = "";
    int i, n, code = cli_allow(c, OPT_USBIP | OPT_TIMEOUT);
    if (code)
        return code;
    if (c->nargs)
        return cli_error(c, EXIT_USAGE, "`udfu list` takes no argument \"%s\"", c->args[0]);
    n = c->use_usbip ? udfu_host_list_usbip(c->usbip_host, c->usbip_port, &list, msg, sizeof msg)
                     : udfu_host_list_libusb(&list, msg, sizeof msg);
    /* An unknown server name is an unreachable server (exit 4, as for the
     * other commands), not a bad command line. */
    if (n < 0)
        return cli_error(c, n == UDFU_ERR_INVAL ? EXIT_NODEV : cli_exit_for(n), "%s",
                         msg[0] ? msg : udfu_strerror(n));
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "list");
        json_open("devices", '[');
        for (i = 0; i < n; i++)
            cli_json_info(&list[i]);
        json_close(']');
        json_close('}');
        json_end();
    } else if (n == 0) {
        printf("no DFU devices found%s\n", c->use_usbip ? " on the USB/IP server"
                                                        : " (try --usbip for a virtual device)");
    } else {
        for (i = 0; i < n; i++)
            cli_print_info(c, &list[i]);
    }
    free(list);
    return EXIT_OK;
}
