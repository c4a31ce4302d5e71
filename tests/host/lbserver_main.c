/*
 * lbserver_main.c - `host_lbserver`: the test USB/IP server as a program,
 * for the CLI tests. Prints "PORT <n>" once listening, then serves until
 * killed.
 *
 *   host_lbserver [--port N] [--plain] [--runtime] [--no-will-detach] [--refuse-image]
 *
 * --refuse-image: the device's image check fails, as a bootloader's does
 * for a bad image: every manifestation and DfuSe leave ends in dfuERROR
 * (errFIRMWARE) and the device stays in DFU mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbserver.h"
#include "udfu_proto.h"

int main(int argc, char **argv)
{
    struct lbs_opts o;
    int i, fd;
    memset(&o, 0, sizeof o);
    o.dfuse = 1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            o.port = (uint16_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--plain"))
            o.dfuse = 0;
        else if (!strcmp(argv[i], "--runtime"))
            o.runtime = 1;
        else if (!strcmp(argv[i], "--no-will-detach"))
            o.plain_attrs = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD |
                            UDFU_ATTR_MANIFEST_TOLERANT;
        else if (!strcmp(argv[i], "--refuse-image"))
            o.manifest_result = UDFU_ERR_FIRMWARE;
        else {
            fprintf(stderr, "usage: host_lbserver [--port N] [--plain] [--runtime] "
                            "[--no-will-detach] [--refuse-image]\n");
            return 2;
        }
    }
    fd = lbs_listen(&o.port);
    if (fd < 0) {
        perror("host_lbserver: listen");
        return 1;
    }
    printf("PORT %u\n", o.port);
    fflush(stdout);
    lbs_serve(fd, &o);
    return 0;
}
