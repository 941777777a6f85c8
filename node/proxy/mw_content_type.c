/* contentType: a response without Content-Type gets one sniffed from its first body bytes,
 * as Traefik v3 does when this middleware is on a router (without it nothing is added).
 *
 * What the sniffing sees: the body bytes that arrived in the same read as the response head
 * (m->resp_peek, at most 4 KiB; a chunked body's first data slice), or a local reply's body.
 * Traefik sniffs the first write its proxy makes, which is likewise the first read from the
 * upstream, so the two look at similar bytes; but when the head arrives alone (a slow
 * upstream, a large head), we have no body bytes and add nothing rather than guess — the
 * browser then sniffs itself, as for any response without the field. A response with no body
 * (HEAD, 204, 304, Content-Length: 0) gets nothing either, as in Go.
 *
 * The rules are the WHATWG MIME Sniffing standard's (the subset Go's http.DetectContentType
 * implements, whose answers Traefik users see): HTML and XML markers after leading white
 * space, byte-order marks, PDF/PostScript, image, audio/video, font and archive signatures,
 * then text/plain or application/octet-stream depending on binary bytes. */
#include <string.h>

#include "node/proxy/mw.h"

#define SNIFF_LEN 512 /* the standard looks at most at this many bytes */

static bool ws(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\x0c' || c == '\r' || c == ' ';
}

/* "<TAG" case-insensitively, then a space or '>' (a tag-terminating byte). */
static bool html_tag(const unsigned char *p, size_t n, const char *tag)
{
    size_t t = strlen(tag);
    if (n < t + 1) {
        return false;
    }
    for (size_t i = 0; i < t; i++) {
        unsigned char c = p[i];
        if (c >= 'a' && c <= 'z') {
            c = (unsigned char)(c - 32);
        }
        if (c != (unsigned char)tag[i]) {
            return false;
        }
    }
    return p[t] == ' ' || p[t] == '>';
}

static bool prefix(const unsigned char *p, size_t n, const char *sig, size_t len)
{
    return n >= len && memcmp(p, sig, len) == 0;
}

/* An exact signature at the start of the data, with its MIME type. */
struct sig {
    const char *bytes;
    size_t len;
    const char *type;
};

#define SIG(b, t)                                                                                  \
    {                                                                                              \
        b, sizeof b - 1, t                                                                         \
    }
static const struct sig sigs[] = {
    SIG("%PDF-", "application/pdf"),
    SIG("%!PS-Adobe-", "application/postscript"),
    SIG("\xfe\xff", "text/plain; charset=utf-16be"),
    SIG("\xff\xfe", "text/plain; charset=utf-16le"),
    SIG("\xef\xbb\xbf", "text/plain; charset=utf-8"),
    SIG("\x00\x00\x01\x00", "image/x-icon"),
    SIG("\x00\x00\x02\x00", "image/x-icon"),
    SIG("BM", "image/bmp"),
    SIG("GIF87a", "image/gif"),
    SIG("GIF89a", "image/gif"),
    SIG("\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
    SIG("\xff\xd8\xff", "image/jpeg"),
    SIG("\x1a\x45\xdf\xa3", "video/webm"),
    SIG(".snd", "audio/basic"),
    SIG("OggS\x00", "application/ogg"),
    SIG("MThd\x00\x00\x00\x06", "audio/midi"),
    SIG("ID3", "audio/mpeg"),
    SIG("wOFF", "font/woff"),
    SIG("wOF2", "font/woff2"),
    SIG("OTTO", "font/otf"),
    SIG("\x00\x01\x00\x00", "font/ttf"),
    SIG("\x1f\x8b\x08", "application/x-gzip"),
    SIG("PK\x03\x04", "application/zip"),
    SIG("Rar!\x1a\x07\x00", "application/x-rar-compressed"),
    SIG("Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
    SIG("\x00\x61\x73\x6d", "application/wasm"),
};

/* "RIFF" <4 bytes> <kind>: WAVE, AVI, WEBP. */
static const char *riff(const unsigned char *p, size_t n)
{
    if (n < 12 || memcmp(p, "RIFF", 4) != 0) {
        return NULL;
    }
    if (memcmp(p + 8, "WAVE", 4) == 0) {
        return "audio/wave";
    }
    if (memcmp(p + 8, "AVI ", 4) == 0) {
        return "video/avi";
    }
    if (n >= 14 && memcmp(p + 8, "WEBPVP", 6) == 0) {
        return "image/webp";
    }
    return NULL;
}

/* ISO base media (MP4): a box of size >= 12 (multiple of 4) "ftyp" with a brand "mp4..". */
static bool mp4(const unsigned char *p, size_t n)
{
    uint32_t box;
    if (n < 12) {
        return false;
    }
    box = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (box % 4 != 0 || box < 12 || n < box || memcmp(p + 4, "ftyp", 4) != 0) {
        return false;
    }
    for (uint32_t at = 8; at + 3 <= box; at += 4) {
        if (at == 12) {
            continue; /* the minor version, not a brand */
        }
        if (memcmp(p + at, "mp4", 3) == 0) {
            return true;
        }
    }
    return false;
}

const char *mw_sniff_content_type(const char *data, size_t len)
{
    static const char *const html[] = {"<!DOCTYPE HTML",
                                       "<HTML",
                                       "<HEAD",
                                       "<SCRIPT",
                                       "<IFRAME",
                                       "<H1",
                                       "<DIV",
                                       "<FONT",
                                       "<TABLE",
                                       "<A",
                                       "<STYLE",
                                       "<TITLE",
                                       "<B",
                                       "<BODY",
                                       "<BR",
                                       "<P",
                                       "<!--"};
    const unsigned char *p = (const unsigned char *)data;
    size_t n = len > SNIFF_LEN ? SNIFF_LEN : len, s = 0;
    const char *t;
    while (s < n && ws(p[s])) {
        s++;
    }
    for (size_t i = 0; i < sizeof html / sizeof html[0]; i++) {
        if (html_tag(p + s, n - s, html[i])) {
            return "text/html; charset=utf-8";
        }
    }
    if (prefix(p + s, n - s, "<?xml", 5)) {
        return "text/xml; charset=utf-8";
    }
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (prefix(p, n, sigs[i].bytes, sigs[i].len)) {
            return sigs[i].type;
        }
    }
    if (prefix(p, n, "FORM", 4) && n >= 12 && memcmp(p + 8, "AIFF", 4) == 0) {
        return "audio/aiff";
    }
    if ((t = riff(p, n)) != NULL) {
        return t;
    }
    if (mp4(p, n)) {
        return "video/mp4";
    }
    for (size_t i = 0; i < n; i++) {
        /* The standard's binary data bytes: controls other than TAB, LF, FF, CR and ESC. */
        if (p[i] <= 0x08 || p[i] == 0x0b || (p[i] >= 0x0e && p[i] <= 0x1a) ||
            (p[i] >= 0x1c && p[i] <= 0x1f)) {
            return "application/octet-stream";
        }
    }
    return "text/plain; charset=utf-8";
}

static enum mw_result content_type_request(struct mw_ctx *m, const struct table_middleware *mw,
                                           uint32_t i)
{
    bool *head = mw_alloc(m, sizeof *head);
    (void)mw;
    if (head == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    *head = m->method_len == 4 && memcmp(m->method, "HEAD", 4) == 0;
    m->state[i] = head;
    return MW_CONTINUE;
}

static void content_type_response(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    const bool *head = m->state[i];
    const char *data = m->resp ? m->resp_peek : m->reply_body;
    uint32_t len = m->resp ? m->resp_peek_len : m->reply_len;
    (void)mw;
    if (head == NULL || *head || m->status == 204 || m->status == 304 || m->status < 200 ||
        data == NULL || len == 0 || (m->resp != NULL && m->resp->body == H1_BODY_NONE) ||
        mw_resp_get(m, "Content-Type", NULL) != NULL) {
        return;
    }
    mw_resp_set(m, "Content-Type", mw_sniff_content_type(data, len));
}

const struct mw_ops mw_content_type_ops = {.request = content_type_request,
                                           .response = content_type_response};
