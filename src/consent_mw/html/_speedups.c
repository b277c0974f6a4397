/* The HTML rewriter's pass-through steps in C (consent_mw.html._speedups).
 *
 * The rewriter (consent_mw/html/rewrite.py) walks a window of the document in
 * steps, each starting in one tokenizer mode (data, a comment or raw-text
 * element, script data). Most steps change nothing: text, comments, <title>,
 * script and sheet bodies and the tags that cannot concern a tracker pass on byte
 * for byte. skim() takes those steps and stops where the rewriter must act: a
 * tag it has to judge (<script>, <style>, <iframe>, <base>, an <img>/<video>/...
 * whose attributes could name a host, any other tag with a style, background,
 * ping, manifest or http-equiv that could make it fetch), the end of an inline
 * script or sheet being held, a tag that does not end in the window, the
 * injection point. The rewriter takes that step and calls skim() again.
 *
 * This is the one function the module exports. Its twin, with the same
 * signature and the same results, is skim() in _pure.py, and each step here
 * mirrors the function of the same name there (and the regular expressions of
 * scan.py it uses) exactly: the tests run the rewriter with each and compare the
 * output and the state after every window. Nothing here allocates per byte.
 * Every index is checked against the window's length before it is read. The tag
 * names, raw-text kinds, TAIL and the bounds of plain() repeat constants of the
 * Python code; the tests feed every element name and every bound to both twins.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* scan.py's modes and script data states */
enum { M_DATA = 0, M_UNTIL = 1, M_SCRIPT = 2, M_TAG = 3 };
enum { SD_DATA = 0, SD_ESCAPED = 1, SD_DOUBLE = 2 };
/* walk_tag's states */
enum { S_TAG_NAME, S_BEFORE_NAME, S_NAME, S_AFTER_NAME, S_BEFORE_VALUE, S_DQ, S_SQ, S_UNQUOTED };
/* what find_candidate found, as the candidate pattern's group names */
enum { K_NONE = 0, K_T = 1, K_U = 2, K_E = 3, K_DECL = 4, K_G = 5 };
/* how a step ended */
enum { STEP_ON = 0, STEP_MORE = 1, STEP_PYTHON = 2, STEP_INJECT = 3 };

#define TAIL 16 /* scan.TAIL */

typedef struct {
    const unsigned char *b;
    Py_ssize_t n;
    Py_ssize_t max_hold;
    int final;
    /* plain_tag_rest()'s bounds, from max_hold */
    Py_ssize_t ws, name, value, count;
} Scan;

typedef struct {
    int mode;
    int noscript;
    int script_state;
    /* the UNTIL kind (its index in UNTIL_KINDS) the state is in, or the one last
     * entered; -1: neither (the state's until_kind is not read outside UNTIL) */
    int until;
    /* where skim() stops at a start tag for the rewriter: where its name ends
     * and the tag ends (-1 when the window ends first); -1 otherwise */
    Py_ssize_t name_end, tag_end;
} State;

/* The kinds of UNTIL mode: what ends it (scan.ScanState.until_kind). */
static const char *const UNTIL_KINDS[] = {
    "!--", "!", "", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title",
};
#define N_UNTIL ((int)(sizeof(UNTIL_KINDS) / sizeof(UNTIL_KINDS[0])))
enum { U_COMMENT = 0, U_BOGUS = 1, U_PLAINTEXT = 2 };
static PyObject *until_objects[N_UNTIL];

/* The byte classes the tokenizer's states test, one table lookup each. */
enum { C_WS = 1, C_SLASH = 2, C_GT = 4, C_EQ = 8, C_URL = 16, C_DQ = 32, C_SQ = 64 };
static const unsigned char CLASS[256] = {
    ['\t'] = C_WS, ['\n'] = C_WS, ['\f'] = C_WS, ['\r'] = C_WS, [' '] = C_WS,
    ['/'] = C_SLASH, ['>'] = C_GT, ['='] = C_EQ, ['"'] = C_DQ, ['\''] = C_SQ,
    /* what may start or spell an absolute URL inside a value: see _PLAIN_FULL */
    ['\\'] = C_URL, ['&'] = C_URL, [':'] = C_URL,
};

static inline int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline int is_letter(int c) { c |= 0x20; return c >= 'a' && c <= 'z'; }
/* TAB LF FF CR SPACE: [\t\n\f\r ] */
static inline int is_ws(int c) { return CLASS[c] & C_WS; }
/* what ends a tag name: [\t\n\f\r />] */
static inline int is_t(int c) { return CLASS[c] & (C_WS | C_SLASH | C_GT); }

/* Whether the lowercase literal ``lit`` is at ``p``, in any case. */
static int ci_at(const Scan *s, Py_ssize_t p, const char *lit, Py_ssize_t len)
{
    if (p < 0 || p + len > s->n)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (lower(s->b[p + i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* lit at p, then a tag-name end at p + len (a lookahead: it must be there) */
static int ci_name_at(const Scan *s, Py_ssize_t p, const char *lit, Py_ssize_t len)
{
    return p + len < s->n && ci_at(s, p, lit, len) && is_t(s->b[p + len]);
}

static Py_ssize_t find_byte(const Scan *s, Py_ssize_t from, Py_ssize_t to, int c)
{
    if (from >= to)
        return -1;
    const unsigned char *hit = memchr(s->b + from, c, (size_t)(to - from));
    return hit ? hit - s->b : -1;
}

static Py_ssize_t rfind_byte(const Scan *s, Py_ssize_t from, Py_ssize_t to, int c)
{
    if (from >= to)
        return -1;
#if defined(__GLIBC__) && !defined(CONSENT_MW_PORTABLE)
    const unsigned char *hit = memrchr(s->b + from, c, (size_t)(to - from));
    return hit ? hit - s->b : -1;
#else
    for (Py_ssize_t i = to - 1; i >= from; i--)
        if (s->b[i] == c)
            return i;
    return -1;
#endif
}

/* -- tags (scan.walk_tag, tag_end, last_tag_start) ------------------------------ */

/* Walk a tag from ``pos`` in state S_TAG_NAME: just past its ">", or -1 when the
 * window ends first. The same as TAG_REST / _NAMED_TAG_REST matching. */
static Py_ssize_t walk_tag(const Scan *s, Py_ssize_t pos)
{
    const unsigned char *b = s->b;
    Py_ssize_t n = s->n;
    int state = S_TAG_NAME;
    for (;;) {
        int c;
        switch (state) {
        case S_TAG_NAME:
            while (pos < n && !is_t(b[pos])) pos++;
            break;
        case S_BEFORE_NAME:
            while (pos < n && (is_ws(b[pos]) || b[pos] == '/')) pos++;
            break;
        case S_NAME:
            while (pos < n && !is_t(b[pos]) && b[pos] != '=') pos++;
            break;
        case S_AFTER_NAME:
        case S_BEFORE_VALUE:
            while (pos < n && is_ws(b[pos])) pos++;
            break;
        case S_DQ: {
            Py_ssize_t q = find_byte(s, pos, n, '"');
            pos = q < 0 ? n : q;
            break;
        }
        case S_SQ: {
            Py_ssize_t q = find_byte(s, pos, n, '\'');
            pos = q < 0 ? n : q;
            break;
        }
        default: /* S_UNQUOTED */
            while (pos < n && !is_ws(b[pos]) && b[pos] != '>') pos++;
            break;
        }
        if (pos >= n)
            return -1;
        c = b[pos++];
        if (c == '>' && state != S_DQ && state != S_SQ)
            return pos;
        if (state == S_TAG_NAME || state == S_UNQUOTED || state == S_DQ || state == S_SQ)
            state = S_BEFORE_NAME;
        else if (state == S_BEFORE_NAME)
            state = S_NAME;
        else if (state == S_BEFORE_VALUE)
            state = c == '"' ? S_DQ : c == '\'' ? S_SQ : S_UNQUOTED;
        else if (c == '=')
            state = S_BEFORE_VALUE;
        else if (c == '/')
            state = S_BEFORE_NAME;
        else if (state == S_NAME)
            state = S_AFTER_NAME;
        else
            state = S_NAME;
    }
}

/* scan.tag_end: where the tag or bogus comment at ``q`` ends, or -1. ``q`` is
 * one last_tag_start found: a letter or "/" follows it, and after "/" one more byte. */
static Py_ssize_t tag_end(const Scan *s, Py_ssize_t q)
{
    if (q + 1 >= s->n || (s->b[q + 1] == '/' && q + 2 >= s->n))
        return -1; /* not reached (see above); kept so no read can pass the end */
    if (s->b[q + 1] == '/') {
        if (!is_letter(s->b[q + 2])) {
            Py_ssize_t e = find_byte(s, q + 2, s->n, '>');
            return e >= 0 ? e + 1 : -1;
        }
        return walk_tag(s, q + 2);
    }
    return walk_tag(s, q + 1);
}

/* scan.last_tag_start */
static Py_ssize_t last_tag_start(const Scan *s, Py_ssize_t pos, Py_ssize_t before)
{
    Py_ssize_t q = before, n = s->n;
    for (int i = 0; i < 32; i++) {
        q = rfind_byte(s, pos, q, '<');
        if (q < 0)
            return -1;
        int c = q + 1 < n ? s->b[q + 1] : 0;
        if (is_letter(c) || (c == '/' && q + 2 < n && s->b[q + 2] != '>'))
            return q;
    }
    return -1;
}

/* whether the tag at ``q`` may contain ``at`` (inside _pure._cut) */
static int holds(const Scan *s, Py_ssize_t q, Py_ssize_t at)
{
    Py_ssize_t end = tag_end(s, q);
    if (end < 0)
        return s->n - q <= s->max_hold;
    return end > at && end - q <= s->max_hold;
}

/* _pure._cut */
static Py_ssize_t cut_at(const Scan *s, Py_ssize_t pos, Py_ssize_t at)
{
    Py_ssize_t q = last_tag_start(s, pos, at);
    return q >= 0 && holds(s, q, at) ? q : at;
}

/* _pure._safe_cut */
static Py_ssize_t safe_cut(const Scan *s, Py_ssize_t pos)
{
    Py_ssize_t n = s->n;
    Py_ssize_t cut = cut_at(s, pos, n);
    Py_ssize_t from = n - TAIL > pos ? n - TAIL : pos;
    Py_ssize_t tail = rfind_byte(s, from, n, '<');
    if (tail >= 0 && tail <= cut)
        cut = cut_at(s, pos, tail);
    return cut;
}

/* -- candidates (scan.candidates, plain_tag_rest) --------------------------------- */

/* _NO_HOST at p: false where [\x00-\x20]*+/[\t\n\r]*+/ follows */
static int no_host(const Scan *s, Py_ssize_t p)
{
    const unsigned char *b = s->b;
    Py_ssize_t n = s->n;
    while (p < n && b[p] <= 0x20) p++;
    if (p >= n || b[p] != '/')
        return 1;
    p++;
    while (p < n && (b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) p++;
    return !(p < n && b[p] == '/');
}

/* [^\t\n\f\r /=>] */
static inline int in_name(int c) { return !(CLASS[c] & (C_WS | C_SLASH | C_GT | C_EQ)); }
/* [\t\n\f\r /] */
static inline int is_sep(int c) { return CLASS[c] & (C_WS | C_SLASH); }

/* What a generic tag's attribute is to generic_tag_rest: no trigger (any value),
 * a URL trigger (background, ping, manifest), style, or http-equiv (never plain). */
enum { A_ANY, A_URL, A_STYLE, A_NEVER };

static int trigger(const Scan *s, Py_ssize_t p, Py_ssize_t len)
{
    switch (len) {
    case 4: return ci_at(s, p, "ping", 4) ? A_URL : A_ANY;
    case 5: return ci_at(s, p, "style", 5) ? A_STYLE : A_ANY;
    case 8: return ci_at(s, p, "manifest", 8) ? A_URL : A_ANY;
    case 10:
        if (ci_at(s, p, "background", 10))
            return A_URL;
        return ci_at(s, p, "http-equiv", 10) ? A_NEVER : A_ANY;
    default: return A_ANY;
    }
}

/* _PAREN: whether the "(" at ``p`` opens url( or (-webkit-)image-set( */
static int opens_url(const Scan *s, Py_ssize_t p)
{
    return ci_at(s, p - 3, "url", 3) || ci_at(s, p - 3, "set", 3);
}

/* Whether the byte at ``p`` may stand in a style value that cannot fetch, where
 * ``stop`` are the byte classes that end the value. */
static int style_byte(const Scan *s, Py_ssize_t p, int stop)
{
    int c = s->b[p];
    if ((CLASS[c] & stop) || c == '\\' || c == '&')
        return 0;
    return c != '(' || !opens_url(s, p);
}

/* One attribute of _PLAIN_FULL (``generic``: of _GENERIC_FULL) at *pp; advances
 * it on a match. */
static int plain_attribute(const Scan *s, Py_ssize_t *pp, int generic)
{
    const unsigned char *b = s->b;
    Py_ssize_t n = s->n, p = *pp, k;
    if (ci_at(s, p, "data-consent-", 13))
        return 0;
    if (p >= n || is_t(b[p]))
        return 0;
    Py_ssize_t name_at = p++;
    while (p < n && in_name(b[p])) p++;
    /* a trigger's name is taken whole; any other is bounded (?![^\t\n\f\r /=>]) */
    int kind = generic ? trigger(s, name_at, p - name_at) : A_URL;
    int bounded = !generic || kind == A_ANY;
    if (kind == A_NEVER || (bounded && p - name_at > 1 + s->name))
        return 0;
    /* "=" and a value that cannot name a host, or no "=" at all */
    Py_ssize_t a = p;
    int ok = 0;
    for (k = 0; k < s->ws && a < n && is_ws(b[a]); k++) a++;
    if (a < n && b[a] == '=') {
        a++;
        for (k = 0; k < s->ws && a < n && is_ws(b[a]); k++) a++;
        if (a < n && (b[a] == '"' || b[a] == '\'')) {
            int quote = b[a++];
            int stop = quote == '"' ? C_DQ : C_SQ;
            if (kind == A_STYLE) {
                for (k = 0; k < s->value && a < n && style_byte(s, a, stop); k++) a++;
            }
            else if (kind == A_ANY) { /* anything up to the quote, within the bound */
                Py_ssize_t to = a + s->value + 1 < n ? a + s->value + 1 : n;
                Py_ssize_t q = find_byte(s, a, to, quote);
                a = q >= 0 ? q : n; /* longer than the bound: no match */
            }
            else if (no_host(s, a)) {
                stop |= C_URL;
                for (k = 0; k < s->value && a < n && !(CLASS[b[a]] & stop); k++) a++;
            }
            if (a < n && b[a] == quote) {
                a++;
                ok = 1;
            }
        }
        else if (a < n && b[a] == '>') {
            ok = 1; /* (?=>): an empty value */
        }
        else if (kind == A_STYLE) {
            if (a < n && !(CLASS[b[a]] & (C_DQ | C_SQ)) && style_byte(s, a, C_WS | C_GT)) {
                a++;
                for (k = 0; k < s->value && a < n && style_byte(s, a, C_WS | C_GT); k++) a++;
                ok = a < n && (is_ws(b[a]) || b[a] == '>');
            }
        }
        else if (a < n && (kind == A_ANY || no_host(s, a))
                 && !(CLASS[b[a]] & (C_WS | C_DQ | C_SQ | C_GT | (kind == A_URL ? C_URL : 0)))) {
            int stop = C_WS | C_GT | (kind == A_URL ? C_URL : 0);
            a++;
            for (k = 0; k < s->value && a < n && !(CLASS[b[a]] & stop); k++) a++;
            ok = a < n && (is_ws(b[a]) || b[a] == '>');
        }
    }
    if (ok) {
        p = a;
    }
    else {
        a = p; /* (?![\t\n\f\r ]*+=) */
        while (a < n && is_ws(b[a])) a++;
        if (a < n && b[a] == '=')
            return 0;
    }
    for (k = 0; k < s->ws && p < n && is_sep(b[p]); k++) p++;
    *pp = p;
    return 1;
}

/* Whether plain_tag_rest(max_hold) (``generic``: generic_tag_rest) matches at ``p``,
 * the end of the tag's name: plain_tag_rest's simple form only ever matches where
 * its full one does. */
static int plain(const Scan *s, Py_ssize_t p, int generic)
{
    Py_ssize_t k;
    for (k = 0; k < s->ws && p < s->n && is_sep(s->b[p]); k++) p++;
    for (k = 0; k < s->count && plain_attribute(s, &p, generic); k++)
        ;
    return p < s->n && s->b[p] == '>';
}

typedef struct {
    const char *name;
    Py_ssize_t len;
    int kind;
    int classified; /* judged by the rewriter */
    int until;      /* the UNTIL kind after its start tag, or -1 (set at import) */
} Name;

static Name NAMES[] = {
    {"script", 6, K_T, 1, -1},   {"style", 5, K_T, 1, -1},    {"iframe", 6, K_T, 1, -1},
    {"textarea", 8, K_T, 0, -1}, {"title", 5, K_T, 0, -1},    {"xmp", 3, K_T, 0, -1},
    {"noembed", 7, K_T, 0, -1},  {"noframes", 8, K_T, 0, -1}, {"noscript", 8, K_T, 0, -1},
    {"plaintext", 9, K_T, 0, -1}, {"base", 4, K_T, 1, -1},    {"img", 3, K_U, 1, -1},
    {"image", 5, K_U, 1, -1},    {"input", 5, K_U, 1, -1},    {"link", 4, K_U, 1, -1},
    {"source", 6, K_U, 1, -1},   {"embed", 5, K_U, 1, -1},    {"object", 6, K_U, 1, -1},
    {"video", 5, K_U, 1, -1},    {"audio", 5, K_U, 1, -1},    {"track", 5, K_U, 1, -1},
    {"frame", 5, K_U, 1, -1},    {"feimage", 7, K_U, 1, -1},  {"form", 4, K_U, 1, -1},
    {"use", 3, K_U, 1, -1},      {"button", 6, K_U, 1, -1},
};
#define N_NAMES ((int)(sizeof(NAMES) / sizeof(NAMES[0])))
#define MAX_NAME 9 /* "plaintext" */

/* NAMES by first letter and length (set at import): the first one's index, and
 * each one's next; -1 ends a list. Most tags (<a, <div, <span ...) find none. */
static signed char HEAD[26][MAX_NAME + 1];
static signed char NEXT[N_NAMES];

static const Name *known_name(const Scan *s, Py_ssize_t at, Py_ssize_t len)
{
    if (len > MAX_NAME)
        return NULL;
    for (int k = HEAD[lower(s->b[at]) - 'a'][len]; k >= 0; k = NEXT[k])
        if (ci_at(s, at, NAMES[k].name, len))
            return &NAMES[k];
    return NULL;
}

typedef struct {
    Py_ssize_t start, name_end;
    int kind;
    const Name *name; /* for K_T and K_U */
} Candidate;

/* The first match of candidates(max_hold)[noscript] from ``pos``; 0 if none. */
static int find_candidate(const Scan *s, Py_ssize_t pos, int noscript, Candidate *m)
{
    const unsigned char *b = s->b;
    Py_ssize_t n = s->n;
    for (;;) {
        Py_ssize_t i = find_byte(s, pos, n, '<');
        if (i < 0 || i + 1 >= n)
            return 0;
        pos = i + 1;
        int c = b[i + 1];
        if (c == '!' || c == '?') {
            m->start = i, m->name_end = i + 2, m->kind = K_DECL, m->name = NULL;
            return 1;
        }
        if (c == '/') {
            if (noscript && ci_name_at(s, i + 2, "noscript", 8)) {
                m->start = i, m->name_end = i + 10, m->kind = K_E, m->name = NULL;
                return 1;
            }
            continue;
        }
        if (!is_letter(c))
            continue; /* "<" as text */
        Py_ssize_t j = i + 2;
        while (j < n && !is_t(b[j])) j++;
        /* a name the window cuts short is a generic one (the next window reads it) */
        const Name *name = j < n ? known_name(s, i + 1, j - i - 1) : NULL;
        if (name == NULL ? plain(s, j, 1) : name->kind == K_U && plain(s, j, 0))
            continue; /* nothing in it could make the browser fetch from another host */
        m->start = i, m->name_end = j, m->kind = name ? name->kind : K_G, m->name = name;
        return 1;
    }
}

/* -- the steps ------------------------------------------------------------------ */

static int markup_decl(const Scan *s, State *st, Py_ssize_t at, Py_ssize_t *ppos);

/* A data-state step (_pure._data). */
static int step_data(const Scan *s, State *st, Py_ssize_t *ppos)
{
    Py_ssize_t pos = *ppos, n = s->n;
    Candidate m;
    if (!find_candidate(s, pos, st->noscript, &m)) { /* no candidate: _safe_cut */
        *ppos = s->final ? n : safe_cut(s, pos);
        return STEP_MORE;
    }
    Py_ssize_t at = m.start, name_end = m.name_end;
    if ((m.kind == K_U || m.kind == K_G) && !s->final && n - at <= s->max_hold
        && walk_tag(s, name_end) < 0) {
        *ppos = cut_at(s, pos, at); /* a candidate the window cuts short */
        return STEP_MORE;
    }
    Py_ssize_t q = find_byte(s, pos, at, '<') < 0 ? -1 : last_tag_start(s, pos, at);
    if (q >= 0) {
        Py_ssize_t end = tag_end(s, q);
        if (end < 0 && n - q <= s->max_hold) {
            *ppos = s->final ? n : q;
            return STEP_MORE;
        }
        if (end > at && end - q <= s->max_hold) {
            *ppos = end;
            return STEP_ON;
        }
    }
    *ppos = at; /* the text before the candidate */
    if (m.kind == K_U || m.kind == K_G || (m.kind == K_T && m.name->classified)) {
        st->name_end = name_end;
        st->tag_end = walk_tag(s, name_end);
        return STEP_PYTHON;
    }
    if (m.kind == K_T) {
        Py_ssize_t end = walk_tag(s, name_end);
        if (end < 0) { /* the rewriter streams it */
            st->name_end = name_end;
            return STEP_PYTHON;
        }
        *ppos = end; /* after it, as tree construction switches the tokenizer */
        if (m.name->until >= 0) {
            st->mode = M_UNTIL;
            st->until = m.name->until;
        }
        else { /* noscript */
            st->noscript = 1;
        }
        return STEP_ON;
    }
    if (m.kind == K_E) {
        st->noscript = 0;
        *ppos = name_end;
        return STEP_ON;
    }
    return markup_decl(s, st, at, ppos);
}

/* _pure._markup_decl: "<!", "<?" or "</" + non-letter at ``at`` */
static int markup_decl(const Scan *s, State *st, Py_ssize_t at, Py_ssize_t *ppos)
{
    const unsigned char *b = s->b;
    Py_ssize_t n = s->n;
    *ppos = at;
    if (ci_at(s, at, "<!--", 4)) {
        if (n - at < 6 && !s->final && !(n - at == 5 && b[at + 4] == '>'))
            return STEP_MORE;
        if (at + 4 < n && b[at + 4] == '>') {
            *ppos = at + 5;
            return STEP_ON;
        }
        if (at + 5 < n && b[at + 4] == '-' && b[at + 5] == '>') {
            *ppos = at + 6;
            return STEP_ON;
        }
        st->mode = M_UNTIL, st->until = U_COMMENT;
        *ppos = at + 4;
        return STEP_ON;
    }
    if (!s->final && n - at < 4 && memcmp(b + at, "<!--", (size_t)(n - at)) == 0)
        return STEP_MORE;
    st->mode = M_UNTIL, st->until = U_BOGUS;
    *ppos = at + 2;
    return STEP_ON;
}

/* A data-state step before the injection point, after the document's start
 * (_pure._before_inject): STEP_INJECT where the injection goes. */
static int step_before_inject(const Scan *s, State *st, Py_ssize_t *ppos)
{
    const unsigned char *b = s->b;
    Py_ssize_t pos = *ppos, n = s->n;
    while (pos < n && is_ws(b[pos])) pos++;
    *ppos = pos;
    if (pos >= n)
        return STEP_MORE;
    if (b[pos] == '<' && pos + 1 >= n && !s->final)
        return STEP_MORE;
    int c = b[pos] == '<' && pos + 1 < n ? b[pos + 1] : 0;
    if (c == '!' || c == '?')
        return markup_decl(s, st, pos, ppos);
    if (c == '/') {
        if (pos + 2 >= n && !s->final)
            return STEP_MORE;
        int c2 = pos + 2 < n ? b[pos + 2] : 0;
        if (c2 == '>') { /* "</>" is dropped by the tokenizer */
            *ppos = pos + 3;
            return STEP_ON;
        }
        if (!is_letter(c2))
            return markup_decl(s, st, pos, ppos);
    }
    else if (is_letter(c)) {
        Py_ssize_t name_end = pos + 1;
        while (name_end < n && !is_t(b[name_end])) name_end++;
        Py_ssize_t len = name_end - pos - 1;
        if (name_end >= n && !s->final && len < 5)
            return STEP_MORE;
        int html = len == 4 && ci_at(s, pos + 1, "html", 4);
        if (html || (len == 4 && (ci_at(s, pos + 1, "head", 4) || ci_at(s, pos + 1, "body", 4)))) {
            Py_ssize_t end = walk_tag(s, name_end);
            if (end < 0 || !plain(s, name_end, 1)) { /* the rewriter judges it */
                st->name_end = name_end;
                st->tag_end = end;
                return STEP_PYTHON;
            }
            *ppos = end;
            return html ? STEP_ON : STEP_INJECT;
        }
    }
    return STEP_INJECT;
}

/* "</noscript" followed by a tag-name end, starting in [pos, before): its start or -1 */
static Py_ssize_t find_noscript_end(const Scan *s, Py_ssize_t pos, Py_ssize_t before)
{
    for (;;) {
        Py_ssize_t i = find_byte(s, pos, before, '<');
        if (i < 0)
            return -1;
        if (ci_name_at(s, i, "</noscript", 10))
            return i;
        pos = i + 1;
    }
}

/* A step in a comment, bogus comment, raw-text element or plaintext (_pure._until).
 * A <style> held back for judging stops at its end: the rewriter judges it there. */
static int step_until(const Scan *s, State *st, Py_ssize_t *ppos, int held)
{
    const unsigned char *b = s->b;
    Py_ssize_t pos = *ppos, n = s->n, start = -1, end = -1;
    int kind = st->until;
    if (kind == U_COMMENT) { /* --!?> */
        for (Py_ssize_t i = pos; (i = find_byte(s, i, n, '-')) >= 0; i++) {
            if (i + 2 < n && b[i + 1] == '-') {
                if (b[i + 2] == '>') {
                    start = i, end = i + 3;
                    break;
                }
                if (b[i + 2] == '!' && i + 3 < n && b[i + 3] == '>') {
                    start = i, end = i + 4;
                    break;
                }
            }
        }
    }
    else if (kind == U_BOGUS) {
        Py_ssize_t i = find_byte(s, pos, n, '>');
        if (i >= 0)
            start = i, end = i + 1;
    }
    else if (kind != U_PLAINTEXT) { /* </name followed by a tag-name end */
        const char *name = UNTIL_KINDS[kind];
        Py_ssize_t len = (Py_ssize_t)strlen(name);
        for (Py_ssize_t i = pos; (i = find_byte(s, i, n, '<')) >= 0; i++) {
            if (i + 1 < n && b[i + 1] == '/' && ci_name_at(s, i + 2, name, len)) {
                start = i, end = i + 2 + len;
                break;
            }
        }
    }
    if (st->noscript) {
        /* "</noscript" ends it too, where it comes first: it stays for the data state */
        Py_ssize_t ns = find_noscript_end(s, pos, start < 0 ? n : start);
        if (ns >= 0)
            start = end = ns;
    }
    if (start < 0) {
        int open_ended = kind == U_PLAINTEXT && !st->noscript;
        *ppos = s->final || open_ended ? n : (n - TAIL > pos ? n - TAIL : pos);
        return STEP_MORE;
    }
    st->mode = M_DATA;
    if (held) {
        *ppos = start;
        return STEP_PYTHON;
    }
    *ppos = end;
    return STEP_ON;
}

/* A step in script data (_pure._script). The body of an inline script held back for
 * judging stops at its end: the rewriter judges it there. */
static int step_script(const Scan *s, State *st, Py_ssize_t *ppos, int held)
{
    const unsigned char *b = s->b;
    Py_ssize_t pos = *ppos, n = s->n, at = pos;
    for (;;) {
        int state = st->script_state;
        Py_ssize_t i = at, found = -1, next = -1;
        int to = state;
        for (;;) {
            if (state == SD_DATA) {
                i = find_byte(s, i, n, '<');
            }
            else {
                while (i < n && b[i] != '<' && b[i] != '-') i++;
                if (i >= n)
                    i = -1;
            }
            if (i < 0)
                break;
            if (b[i] == '-') {
                if (i + 2 < n && b[i + 1] == '-' && b[i + 2] == '>') { /* out */
                    to = SD_DATA, next = i + 3;
                    break;
                }
            }
            else if (state != SD_DOUBLE && ci_name_at(s, i, "</script", 8)) { /* end */
                found = i;
                break;
            }
            else if (state == SD_DATA && ci_at(s, i, "<!--", 4)) { /* esc */
                to = SD_ESCAPED, next = i + 2;
                break;
            }
            else if (state == SD_ESCAPED && ci_name_at(s, i, "<script", 7)) { /* dbl */
                to = SD_DOUBLE, next = i + 8;
                break;
            }
            else if (state == SD_DOUBLE && ci_name_at(s, i, "</script", 8)) { /* un */
                to = SD_ESCAPED, next = i + 9;
                break;
            }
            else if (st->noscript && ci_name_at(s, i, "</noscript", 10)) { /* ns */
                found = i;
                break;
            }
            i++;
        }
        if (found >= 0) {
            *ppos = found;
            st->mode = M_DATA;
            return held ? STEP_PYTHON : STEP_ON;
        }
        if (next < 0) {
            *ppos = s->final ? n : (n - TAIL > at ? n - TAIL : at);
            return STEP_MORE;
        }
        st->script_state = to;
        at = next;
    }
}

/* -- the state object ------------------------------------------------------------ */

/* The names of the scan.ScanState attributes skim() reads, interned at import. */
static PyObject *A_MODE, *A_NOSCRIPT, *A_SCRIPT_STATE, *A_UNTIL_KIND, *A_HELD, *A_INJECTED,
    *A_MAX_HOLD;

/* The index of ``kind`` in UNTIL_KINDS; -1 with ValueError set if it is none. */
static int until_index(PyObject *kind)
{
    if (!PyBytes_Check(kind)) {
        PyErr_SetString(PyExc_ValueError, "skim(): until_kind must be bytes");
        return -1;
    }
    for (int i = 0; i < N_UNTIL; i++)
        if (kind == until_objects[i]
            || (PyBytes_GET_SIZE(kind) == PyBytes_GET_SIZE(until_objects[i])
                && memcmp(PyBytes_AS_STRING(kind), PyBytes_AS_STRING(until_objects[i]),
                          (size_t)PyBytes_GET_SIZE(kind)) == 0))
            return i;
    PyErr_SetString(PyExc_ValueError, "skim(): unknown until_kind");
    return -1;
}

/* An int in [low, high], or -1 with an exception set. */
static Py_ssize_t int_value(PyObject *value, const char *what, Py_ssize_t low, Py_ssize_t high)
{
    Py_ssize_t n = PyLong_AsSsize_t(value);
    if (n == -1 && PyErr_Occurred())
        return -1;
    if (n < low || n > high) {
        PyErr_Format(PyExc_ValueError, "skim(): %s out of range", what);
        return -1;
    }
    return n;
}

/* An int attribute of ``obj`` in [low, high], or -1 with an exception set. */
static Py_ssize_t int_attr(PyObject *obj, PyObject *name, const char *what, Py_ssize_t low,
                           Py_ssize_t high)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    Py_ssize_t n = int_value(value, what, low, high);
    Py_DECREF(value);
    return n;
}

/* The truth of an attribute of ``obj`` (``none``: whether it is not None), or -1
 * with an exception set. */
static int bool_attr(PyObject *obj, PyObject *name, int none)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    int truth = none ? value != Py_None : PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* The UNTIL kind the state is in (its index in UNTIL_KINDS), or -1 with an
 * exception set. */
static int until_attr(PyObject *obj)
{
    PyObject *value = PyObject_GetAttr(obj, A_UNTIL_KIND);
    if (value == NULL)
        return -1;
    int kind = until_index(value);
    Py_DECREF(value);
    return kind;
}

/* An int attribute set to ``value``: 0, or -1 with an exception set. */
static int set_int(PyObject *obj, PyObject *name, long value)
{
    PyObject *number = PyLong_FromLong(value);
    if (number == NULL)
        return -1;
    int done = PyObject_SetAttr(obj, name, number);
    Py_DECREF(number);
    return done;
}

static void bounds(Scan *s, Py_ssize_t max_hold)
{
    /* as scan.plain_bounds computes them */
    Py_ssize_t budget = max_hold / 2, per, ws, name, value;
    Py_ssize_t count = budget / 64;
    count = count > 64 ? 64 : count < 1 ? 1 : count;
    per = budget / count;
    ws = per / 8;
    ws = ws > 64 ? 64 : ws < 1 ? 1 : ws;
    name = per / 4;
    name = name > 256 ? 256 : name < 1 ? 1 : name;
    value = per - 3 * ws - name - 4;
    s->max_hold = max_hold;
    s->ws = ws, s->name = name, s->value = value < 0 ? 0 : value, s->count = count;
}

PyDoc_STRVAR(skim_doc,
"skim(state, buf, pos, final, /)\n"
"--\n\n"
"Take the steps that pass ``buf`` on unchanged, from ``pos``, moving ``state``\n"
"(a consent_mw.html.scan.ScanState). The same as consent_mw.html._pure.skim:\n"
"returns ``(stop, status, name_end, end)``; ``buf[pos:stop]`` goes on as it is.");

static PyObject *skim(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "skim() takes 4 arguments");
        return NULL;
    }
    PyObject *state = args[0];
    Py_ssize_t pos, max_hold;
    int final, mode, noscript, script_state, held, injected, until = -1;
    /* each checked before the next is read: a conversion may run Python code */
    if ((pos = int_value(args[2], "pos", 0, PY_SSIZE_T_MAX)) < 0
        || (final = PyObject_IsTrue(args[3])) < 0
        || (max_hold = int_attr(state, A_MAX_HOLD, "max_hold", 64, PY_SSIZE_T_MAX / 2)) < 0
        || (mode = (int)int_attr(state, A_MODE, "mode", M_DATA, M_TAG)) < 0
        || (noscript = bool_attr(state, A_NOSCRIPT, 0)) < 0
        || (script_state = (int)int_attr(state, A_SCRIPT_STATE, "script_state", SD_DATA,
                                         SD_DOUBLE)) < 0
        || (held = bool_attr(state, A_HELD, 1)) < 0
        || (injected = bool_attr(state, A_INJECTED, 0)) < 0
        || (mode == M_UNTIL && (until = until_attr(state)) < 0))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (pos > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "skim(): pos out of range");
        return NULL;
    }
    Scan s = {.b = view.buf, .n = view.len, .final = final};
    bounds(&s, max_hold);
    State st = {.mode = mode, .noscript = noscript, .script_state = script_state,
                .until = until, .name_end = -1, .tag_end = -1};
    int step;
    for (;;) {
        if (st.mode == M_TAG) {
            step = STEP_PYTHON;
            break;
        }
        if (pos >= s.n && !s.final) {
            step = STEP_MORE;
            break;
        }
        if (st.mode == M_DATA)
            step = injected ? step_data(&s, &st, &pos) : step_before_inject(&s, &st, &pos);
        else if (st.mode == M_UNTIL)
            step = step_until(&s, &st, &pos, held);
        else
            step = step_script(&s, &st, &pos, held);
        if (step != STEP_ON)
            break;
    }
    PyBuffer_Release(&view);
    /* what changed, back into the state (the kind last entered, as _pure does) */
    if ((st.mode != mode && set_int(state, A_MODE, st.mode) < 0)
        || (st.noscript != noscript
            && PyObject_SetAttr(state, A_NOSCRIPT, st.noscript ? Py_True : Py_False) < 0)
        || (st.script_state != script_state
            && set_int(state, A_SCRIPT_STATE, st.script_state) < 0)
        || (st.until != until && PyObject_SetAttr(state, A_UNTIL_KIND, until_objects[st.until]) < 0))
        return NULL;
    return Py_BuildValue("(ninn)", pos, step, st.name_end, st.tag_end);
}

static PyMethodDef methods[] = {
    {"skim", (PyCFunction)(void (*)(void))skim, METH_FASTCALL, skim_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups",
    "The HTML rewriter's pass-through steps in C (see _pure.py for their twin).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    memset(HEAD, -1, sizeof(HEAD));
    for (int k = N_NAMES - 1; k >= 0; k--) {
        signed char *head = &HEAD[NAMES[k].name[0] - 'a'][NAMES[k].len];
        NEXT[k] = *head;
        *head = (signed char)k;
    }
    for (int k = 0; k < N_NAMES; k++) {
        NAMES[k].until = -1;
        for (int i = 0; i < N_UNTIL; i++)
            if (strcmp(NAMES[k].name, UNTIL_KINDS[i]) == 0)
                NAMES[k].until = i;
        if (strcmp(NAMES[k].name, "plaintext") == 0)
            NAMES[k].until = U_PLAINTEXT;
    }
    for (int i = 0; i < N_UNTIL; i++) {
        if (until_objects[i] == NULL) {
            until_objects[i] = PyBytes_FromString(UNTIL_KINDS[i]);
            if (until_objects[i] == NULL)
                return NULL;
        }
    }
    struct {
        PyObject **name;
        const char *text;
    } attributes[] = {
        {&A_MODE, "mode"},         {&A_NOSCRIPT, "noscript"}, {&A_SCRIPT_STATE, "script_state"},
        {&A_UNTIL_KIND, "until_kind"}, {&A_HELD, "held"},     {&A_INJECTED, "injected"},
        {&A_MAX_HOLD, "max_hold"},
    };
    for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++) {
        if (*attributes[i].name == NULL) {
            *attributes[i].name = PyUnicode_InternFromString(attributes[i].text);
            if (*attributes[i].name == NULL)
                return NULL;
        }
    }
    return PyModule_Create(&module_def);
}
