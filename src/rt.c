/*
 * rt.c - DFU run-time class (DFU 1.1 appendix A.1): appIDLE and appDETACH.
 */
#include "udfu_rt.h"

#include "udfu_util.h"

#define RT_F_HANDOFF 0x01u /* call detach() from the task */

int udfu_rt_init(struct udfu_rt *r, const struct udfu_rt_cfg *cfg)
{
    UDFU_ASSERT(r && cfg && cfg->detach);
    if (!r || !cfg || !cfg->detach)
        return UDFU_ERR_INVAL;
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->state = UDFU_APP_IDLE;
    return 0;
}

/* GETSTATUS / GETSTATE replies, truncated to wLength like any IN reply. */
static int rt_reply(struct udfu_rt *r, const struct udfu_setup *req, uint8_t **data)
{
    uint16_t n = req->bRequest == UDFU_REQ_GETSTATUS ? UDFU_STATUS_LEN : 1;
    memset(r->reply, 0, sizeof r->reply);
    if (n == 1) {
        r->reply[0] = r->state;
    } else {
        r->reply[4] = r->state;
    }
    *data = r->reply;
    return req->wLength < n ? req->wLength : n;
}

int udfu_rt_setup(struct udfu_rt *r, const struct udfu_setup *req, uint8_t **data)
{
    uint8_t in = req->bmRequestType == UDFU_RT_IN;

    /* Not for this interface, or a DFU request with the wrong direction:
     * stall, no other effect. */
    if ((req->bmRequestType != UDFU_RT_IN && req->bmRequestType != UDFU_RT_OUT) ||
        req->wIndex != r->cfg->interface)
        return UDFU_ERR_STALL;
    if (req->bRequest <= UDFU_REQ_ABORT &&
        in != (req->bRequest == UDFU_REQ_UPLOAD || req->bRequest == UDFU_REQ_GETSTATUS ||
               req->bRequest == UDFU_REQ_GETSTATE))
        return UDFU_ERR_STALL;
    if (in && (req->bRequest == UDFU_REQ_GETSTATUS || req->bRequest == UDFU_REQ_GETSTATE))
        return rt_reply(r, req, data);
    if (!in && req->bRequest == UDFU_REQ_DETACH && req->wLength == 0 &&
        r->state == UDFU_APP_IDLE) {
        uint16_t t = req->wValue;
        if (r->cfg->detach_timeout_ms && t > r->cfg->detach_timeout_ms)
            t = r->cfg->detach_timeout_ms;
        r->state = UDFU_APP_DETACH;
        r->deadline = r->now + t;
        return 0;
    }
    /* Anything else, including DETACH in appDETACH: stall, back to appIDLE. */
    r->state = UDFU_APP_IDLE;
    return UDFU_ERR_STALL;
}

void udfu_rt_status_done(struct udfu_rt *r)
{
    /* bitWillDetach: the device detaches itself once the host has the reply. */
    if (r->state == UDFU_APP_DETACH && (r->cfg->attributes & UDFU_ATTR_WILL_DETACH))
        r->flags |= RT_F_HANDOFF;
}

void udfu_rt_reset(struct udfu_rt *r)
{
    if (r->state == UDFU_APP_DETACH && (int32_t)(r->now - r->deadline) <= 0)
        r->flags |= RT_F_HANDOFF;
    else
        r->state = UDFU_APP_IDLE;
}

void udfu_rt_task(struct udfu_rt *r, uint32_t now_ms)
{
    r->now = now_ms;
    if (r->flags & RT_F_HANDOFF) {
        r->flags = 0;
        r->state = UDFU_APP_IDLE;
        r->cfg->detach(r->cfg->context);
        return;
    }
    /* The host did not reset in time: the detach request lapses. */
    if (r->state == UDFU_APP_DETACH && (int32_t)(now_ms - r->deadline) > 0)
        r->state = UDFU_APP_IDLE;
}
