/*
 * warroom.triage._scan: a compiled scanner for combined/common access-log lines.
 *
 * scan_clf(block, factor) reads a block of whole lines and returns, for each line it can
 * read exactly the way the careful Python parser (lineparse.text_row) would, the epoch
 * minute (UTC), a route id, the status, the latency in ms (NaN when absent) and a 64-bit hash
 * of the client key (user when given, else the address). Any line that is not plain
 * (a backslash, an odd time, a method that is not A-Z, non-ASCII in the path, ...) is not
 * guessed at: its offsets are returned so the Python parser decides. The scan runs without
 * the GIL, so blocks parse in parallel threads.
 *
 * Route normalisation is the one of warroom.triage.routes.normalise_route: query dropped,
 * absolute-form targets reduced to their path, repeated slashes folded, and every segment
 * after a slash that is all digits, a UUID or 8+ hex characters replaced by {id}.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_PATH_LEN 2048
#define ROUTE_BUF (MAX_PATH_LEN * 4 + 16)

/* --- hashing ---------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t load64(const char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* A 64-bit hash of p[0..n): two overlapping loads for 8..16 bytes (addresses, short routes),
 * a multiply-xorshift loop beyond. Only this module's tables and client sampling use it. */
static inline uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
    if (n >= 8 && n <= 16) {
        uint64_t a = load64(p), b = load64(p + n - 8);
        return mix64(h ^ a ^ ((b << 29) | (b >> 35)) * 0xff51afd7ed558ccdULL);
    }
    while (n >= 8) {
        h = (h ^ load64(p)) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return mix64(h);
}

/* --- character classes ------------------------------------------------------------------ */

enum {
    C_SPACE = 1,  /* ' ' \t \r \v \f */
    C_CTRL = 2,   /* not visible ASCII: <= 0x20 or >= 0x7f */
    C_HIGH = 4,   /* >= 0x80 */
    C_DIGIT = 8,
    C_HEX = 16,
    C_LOW = 32,   /* < 0x20 */
    C_QUERY = 64, /* ? # */
    C_MARK = 128, /* . - : a file-name part may follow */
};
static unsigned char CLS[256];

static void init_classes(void) {
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') k |= C_SPACE;
        if (c <= 0x20 || c >= 0x7f) k |= C_CTRL;
        if (c >= 0x80) k |= C_HIGH;
        if (c >= '0' && c <= '9') k |= C_DIGIT | C_HEX;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) k |= C_HEX;
        if (c < 0x20) k |= C_LOW;
        if (c == '?' || c == '#') k |= C_QUERY;
        if (c == '.' || c == '-') k |= C_MARK;
        CLS[c] = k;
    }
}

/* --- lines ----------------------------------------------------------------------------- */

/* End of the line starting at pos (index of its newline, or size); *odd is set when the line
 * holds a backslash or a non-ASCII byte, which send it to the careful parser. One pass, 16
 * bytes at a time where SSE2 is available. */
static inline size_t next_line(const char *data, size_t pos, size_t size, int *odd) {
    size_t i = pos;
#if defined(__SSE2__)
    /* 32 bytes per round; the odd bytes are gathered in vectors and looked at once */
    const __m128i nl = _mm_set1_epi8('\n'), bs = _mm_set1_epi8('\\');
    __m128i acc = _mm_setzero_si128();
    while (i + 32 <= size) {
        __m128i a = _mm_loadu_si128((const __m128i *)(data + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(data + i + 16));
        __m128i odd_a = _mm_or_si128(a, _mm_cmpeq_epi8(a, bs)); /* high bit: odd byte */
        __m128i odd_b = _mm_or_si128(b, _mm_cmpeq_epi8(b, bs));
        uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, nl)) |
                     ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, nl)) << 16);
        if (m) {
            uint32_t before = (m & (0u - m)) - 1u; /* bytes before the first newline */
            uint32_t odd_bits = (uint32_t)_mm_movemask_epi8(odd_a) |
                                ((uint32_t)_mm_movemask_epi8(odd_b) << 16);
            *odd = _mm_movemask_epi8(acc) != 0 || (odd_bits & before) != 0;
            return i + (size_t)__builtin_ctz(m);
        }
        acc = _mm_or_si128(acc, _mm_or_si128(odd_a, odd_b));
        i += 32;
    }
    int flags = _mm_movemask_epi8(acc) != 0;
#else
    int flags = 0;
#endif
    for (; i < size; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\n') break;
        if (c >= 0x80 || c == '\\') flags = 1;
    }
    *odd = flags;
    return i;
}

/* First byte at or after p that is a space, a control byte or DEL (the line is ASCII). */
static inline const char *find_ctrl(const char *p, const char *end) {
#if defined(__SSE2__)
    const __m128i lim = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f);
    while (p + 16 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmplt_epi8(v, lim), _mm_cmpeq_epi8(v, del)));
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (p < end && !(CLS[(unsigned char)*p] & C_CTRL)) p++;
    return p;
}

/* --- routes: normalisation and a growable table of distinct routes ---------------------- */

static inline int is_hex(unsigned char c) { return (CLS[c] & C_HEX) != 0; }

/* A segment that is all digits, a UUID (8-4-4-4-12 hex) or at least 8 hex characters. */
static int is_id_segment(const char *s, size_t n) {
    if (n == 0) return 0;
    size_t i, digits = 0, hex = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') digits++;
        if (is_hex(c)) hex++;
    }
    if (digits == n) return 1;
    if (hex == n && n >= 8) return 1;
    if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') {
        for (i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) continue;
            if (!is_hex((unsigned char)s[i])) return 0;
        }
        return 1;
    }
    return 0;
}

static inline int is_uuid_at(const char *s, size_t n) {
    return n >= 36 && is_id_segment(s, 36) && s[8] == '-';
}

/* One pass of the file-name rule: ".ID." -> ".{id}." (ID: digits, UUID or 8+ hex), left to
 * right without overlap, like re.sub; then, when dash is set, "-UUID." or "-HEX8+." ->
 * "-{id}.". Returns the new length, or -1 past `cap`. */
static Py_ssize_t fold_parts(const char *in, size_t n, char *out, size_t cap, int dash) {
    size_t i = 0, o = 0;
    while (i < n) {
        char c = in[i];
        if (c == '.' && !dash) {
            size_t j = i + 1;
            while (j < n && in[j] != '.' && in[j] != '/') j++;
            if (j < n && in[j] == '.' && is_id_segment(in + i + 1, j - i - 1)) {
                if (o + 6 > cap) return -1;
                memcpy(out + o, ".{id}.", 6);
                o += 6;
                i = j + 1;
                continue;
            }
        } else if (c == '-' && dash) {
            size_t j = i + 1;
            if (is_uuid_at(in + j, n - j) && j + 36 < n && in[j + 36] == '.') {
                j += 36;
            } else {
                while (j < n && is_hex((unsigned char)in[j])) j++;
                if (j - i - 1 < 8 || j >= n || in[j] != '.') j = 0;
            }
            if (j) {
                if (o + 6 > cap) return -1;
                memcpy(out + o, "-{id}.", 6);
                o += 6;
                i = j + 1;
                continue;
            }
        }
        if (o + 1 > cap) return -1;
        out[o++] = c;
        i++;
    }
    return (Py_ssize_t)o;
}

/* Fold the file-name ids of one segment seg[0..n) (written at out, room for ROUTE_BUF);
 * return its new length or -1. Matches never span segments, so per segment is the same as
 * the regex passes over the whole route. */
static Py_ssize_t fold_segment(char *seg, size_t n, int has_dash) {
    char work[ROUTE_BUF];
    Py_ssize_t m = fold_parts(seg, n, work, ROUTE_BUF, 0);
    if (m < 0) return -1;
    m = fold_parts(work, (size_t)m, seg, ROUTE_BUF, 0);
    if (m < 0 || !has_dash) return m;
    m = fold_parts(seg, (size_t)m, work, ROUTE_BUF, 1);
    if (m < 0) return -1;
    memcpy(seg, work, (size_t)m);
    return m;
}

/* Normalise path p[0..n) (ASCII: the caller sends other paths to Python) into out (at least
 * ROUTE_BUF bytes); return the length. One pass: slashes folded, each segment after a slash
 * classified with early exits, file-name folding only for segments with a dot. */
static Py_ssize_t normalise(const char *p, size_t n, char *out) {
    size_t cut = 0;
    while (cut < n && !(CLS[(unsigned char)p[cut]] & C_QUERY)) cut++;
    n = cut;
    if (n == 0) {
        out[0] = '/';
        return 1;
    }
    const char *src = p;
    size_t len = n, o = 0, i = 0;
    if ((n >= 7 && memcmp(p, "http://", 7) == 0) || (n >= 8 && memcmp(p, "https://", 8) == 0)) {
        /* "/" + the part after the third slash, or "/" when there is no third slash */
        int slashes = 0;
        size_t j = 0;
        for (; j < n; j++) {
            if (p[j] == '/' && ++slashes == 3) break;
        }
        if (slashes < 3) {
            out[0] = '/';
            return 1;
        }
        src = p + j + 1;
        len = n - j - 1;
        out[o++] = '/';
    }
    int first = o == 0; /* a segment before any slash is never replaced */
    while (i < len) {
        if (src[i] == '/') {
            if (o == 0 || out[o - 1] != '/') out[o++] = '/';
            i++;
            first = 0;
            continue;
        }
        /* copy the segment while classifying it: all digits? all hex? any dot or dash? */
        size_t start = o;
        unsigned all = C_DIGIT | C_HEX, any = 0;
        while (i < len && src[i] != '/') {
            unsigned k = CLS[(unsigned char)src[i]];
            all &= k;
            any |= k;
            out[o++] = src[i++];
        }
        size_t n_seg = o - start;
        if (!first && ((all & C_DIGIT) || ((all & C_HEX) && n_seg >= 8) ||
                       (n_seg == 36 && (any & C_MARK) && is_id_segment(out + start, 36)))) {
            memcpy(out + start, "{id}", 4);
            o = start + 4;
        } else if (any & C_MARK) {
            const char *seg = out + start;
            if (memchr(seg, '.', n_seg)) {
                Py_ssize_t m = fold_segment(out + start, n_seg, memchr(seg, '-', n_seg) != NULL);
                if (m < 0) return -1;
                o = start + (size_t)m;
            }
        }
        first = 0;
    }
    if (o == 0) {
        out[0] = '/';
        return 1;
    }
    return (Py_ssize_t)o;
}

typedef struct {
    uint64_t hash;
    int32_t id; /* -1: empty slot */
} Slot;

typedef struct {
    Slot *slots;
    size_t cap; /* power of two */
    size_t count;
    char *arena;
    size_t arena_len, arena_cap;
    size_t *offsets; /* per id: start in arena; offsets[id+1] - offsets[id] is the length */
    size_t offsets_cap;
} RouteTable;

static int table_init(RouteTable *t) {
    memset(t, 0, sizeof(*t));
    t->cap = 256;
    t->slots = malloc(t->cap * sizeof(Slot));
    t->arena_cap = 16384;
    t->arena = malloc(t->arena_cap);
    t->offsets_cap = 257;
    t->offsets = malloc(t->offsets_cap * sizeof(size_t));
    if (!t->slots || !t->arena || !t->offsets) return -1;
    for (size_t i = 0; i < t->cap; i++) t->slots[i].id = -1;
    t->offsets[0] = 0;
    return 0;
}

static void table_free(RouteTable *t) {
    free(t->slots);
    free(t->arena);
    free(t->offsets);
}

static int table_grow(RouteTable *t) {
    size_t cap = t->cap * 2;
    Slot *slots = malloc(cap * sizeof(Slot));
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++) slots[i].id = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].id < 0) continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].id >= 0) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* The id of route r[0..n), adding it when new; -1 when out of memory. */
static int32_t table_id(RouteTable *t, const char *r, size_t n) {
    uint64_t h = hash_bytes(r, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].id >= 0) {
        Slot *s = &t->slots[j];
        if (s->hash == h) {
            size_t start = t->offsets[s->id], len = t->offsets[s->id + 1] - start;
            if (len == n && memcmp(t->arena + start, r, n) == 0) return s->id;
        }
        j = (j + 1) & (t->cap - 1);
    }
    int32_t id = (int32_t)t->count;
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = (t->arena_cap + n) * 2;
        char *a = realloc(t->arena, cap);
        if (!a) return -1;
        t->arena = a;
        t->arena_cap = cap;
    }
    if ((size_t)id + 2 > t->offsets_cap) {
        size_t cap = t->offsets_cap * 2;
        size_t *o = realloc(t->offsets, cap * sizeof(size_t));
        if (!o) return -1;
        t->offsets = o;
        t->offsets_cap = cap;
    }
    memcpy(t->arena + t->arena_len, r, n);
    t->arena_len += n;
    t->offsets[id + 1] = t->arena_len;
    t->slots[j].hash = h;
    t->slots[j].id = id;
    t->count++;
    if (t->count * 2 > t->cap && table_grow(t) < 0) return -1;
    return id;
}

/* --- time ------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dim[m - 1];
}

static int month_number(const char *s) {
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    char a = (char)(s[0] | 0x20), b = (char)(s[1] | 0x20), c = (char)(s[2] | 0x20);
    for (int i = 0; i < 12; i++) {
        if (names[i * 3] == a && names[i * 3 + 1] == b && names[i * 3 + 2] == c) return i + 1;
    }
    return 0;
}

static inline int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + c;
    }
    *out = v;
    return 0;
}

/* "10/Oct/2000:13:55:36 -0700" (exactly 26 bytes) -> epoch minute UTC; -1 if not plain. */
static int parse_clf_time(const char *s, int64_t *minute) {
    int d, y, hh, mm, ss, oh, om;
    if (s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
        s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
        return -1;
    if (digits(s, 2, &d) || digits(s + 7, 4, &y) || digits(s + 12, 2, &hh) ||
        digits(s + 15, 2, &mm) || digits(s + 18, 2, &ss) || digits(s + 22, 2, &oh) ||
        digits(s + 24, 2, &om))
        return -1;
    int mo = month_number(s + 3);
    if (!mo || d < 1 || d > days_in_month(y, mo) || hh > 23 || mm > 59 || ss > 61 || y < 1900 ||
        y > 5000 || om > 59)
        return -1;
    if (ss > 59) return -1; /* leap seconds: let the careful parser decide */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
    int64_t off = (int64_t)(oh * 60 + om) * 60;
    secs -= s[21] == '-' ? -off : off;
    *minute = secs >= 0 ? secs / 60 : -((-secs + 59) / 60);
    return 0;
}

/* --- numbers ---------------------------------------------------------------------------- */

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* s[0..n) as "\d+(\.\d+)?" -> value, exactly as float() reads it; -1 when not such a
 * token, -2 when it is one with more digits than this exact conversion handles */
static int parse_number(const char *s, size_t n, double *out) {
    uint64_t v = 0;
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
        int_digits++;
    }
    if (int_digits == 0) return -1;
    if (i < n) {
        if (s[i] != '.') return -1;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
            frac_digits++;
        }
        if (frac_digits == 0 || i != n) return -1;
    }
    if (int_digits + frac_digits > 15) return -2;
    *out = (double)v / POW10[frac_digits];
    return 0;
}

static inline int is_space(unsigned char c) { return (CLS[c] & C_SPACE) != 0; }

/* --- one line --------------------------------------------------------------------------- */

typedef struct {
    int64_t minute;
    int32_t route;
    int16_t status;
    double latency_ms;
    uint64_t client;
} Row;

typedef struct {
    char ts[26];
    int64_t minute;
    int valid;
} TimeCache;

/* The 26 bytes of a CLF time equal to the cached ones? (two overlapping 16-byte compares) */
static inline int same_time(const char *a, const char *b) {
#if defined(__SSE2__)
    __m128i x = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)a),
                               _mm_loadu_si128((const __m128i *)b));
    __m128i y = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(a + 10)),
                               _mm_loadu_si128((const __m128i *)(b + 10)));
    return _mm_movemask_epi8(_mm_and_si128(x, y)) == 0xffff;
#else
    return memcmp(a, b, 26) == 0;
#endif
}

/* 1: parsed into row; 0: not plain, the careful parser decides; -1: out of memory */
static int scan_line(const char *s, size_t n, double factor, RouteTable *routes, TimeCache *tc,
                     char *route_buf, Row *row) {
    /* the caller has sent lines with a backslash or a non-ASCII byte to the careful parser */
    const char *end = s + n;
    const char *p = s;
    /* client ident user: visible ASCII, one space after each */
    const char *client = p;
    p = find_ctrl(p, end);
    size_t client_len = (size_t)(p - client);
    if (client_len == 0 || p >= end || *p != ' ') return 0;
    const char *ident = ++p;
    p = find_ctrl(p, end);
    if (p == ident || p >= end || *p != ' ') return 0;
    const char *user = ++p;
    p = find_ctrl(p, end);
    size_t user_len = (size_t)(p - user);
    if (user_len == 0 || p >= end || *p != ' ') return 0;
    p++;
    /* [time] */
    if (end - p < 30 || p[0] != '[' || p[27] != ']' || p[28] != ' ' || p[29] != '"') return 0;
    if (tc->valid && same_time(tc->ts, p + 1)) {
        row->minute = tc->minute;
    } else {
        if (parse_clf_time(p + 1, &row->minute) < 0) return 0;
        memcpy(tc->ts, p + 1, 26);
        tc->minute = row->minute;
        tc->valid = 1;
    }
    p += 30;
    /* "METHOD PATH[ PROTO]" */
    const char *rq_end = memchr(p, '"', (size_t)(end - p));
    if (!rq_end) return 0;
    const char *m = p;
    while (m < rq_end && *m >= 'A' && *m <= 'Z') m++;
    if (m == p || m >= rq_end || *m != ' ') return 0;
    const char *path = m + 1;
    const char *path_end = memchr(path, ' ', (size_t)(rq_end - path));
    if (!path_end) path_end = rq_end;
    size_t path_len = (size_t)(path_end - path);
    if (path_len > MAX_PATH_LEN) return 0;
    p = rq_end + 1;
    /* " NNN BYTES" */
    if (end - p < 6 || p[0] != ' ' || p[4] != ' ') return 0;
    int status;
    if (digits(p + 1, 3, &status) || status < 100 || status > 599) return 0;
    p += 5;
    const char *bytes = p;
    p = find_ctrl(p, end);
    if (p == bytes || (p < end && !(CLS[(unsigned char)*p] & C_SPACE))) return 0;
    if (memchr(bytes, '"', (size_t)(p - bytes))) return 0;
    /* optional ' "referer" "agent"', then the rest */
    if (end - p >= 2 && p[0] == ' ' && p[1] == '"') {
        const char *r = memchr(p + 2, '"', (size_t)(end - p - 2));
        if (!r || end - r < 3 || r[1] != ' ' || r[2] != '"') return 0;
        const char *a = memchr(r + 3, '"', (size_t)(end - r - 3));
        if (!a) return 0;
        p = a + 1; /* the rest may hold more quoted fields: only its last token counts */
    }
    /* the request time: the last whitespace-separated token of the rest, when a number */
    row->latency_ms = NAN;
    const char *t_end = end;
    while (t_end > p && is_space((unsigned char)t_end[-1])) t_end--;
    const char *t = t_end;
    while (t > p && !is_space((unsigned char)t[-1])) t--;
    if (t < t_end) {
        double v;
        int r = parse_number(t, (size_t)(t_end - t), &v);
        if (r == 0) row->latency_ms = v * factor;
        if (r == -2) return 0; /* a number with more digits than this exact path reads */
    }
    Py_ssize_t rlen = normalise(path, path_len, route_buf);
    if (rlen < 0) return 0;
    int32_t id = table_id(routes, route_buf, (size_t)rlen);
    if (id < 0) return -1;
    row->route = id;
    row->status = (int16_t)status;
    if (user_len == 1 && user[0] == '-')
        row->client = hash_bytes(client, client_len);
    else
        row->client = hash_bytes(user, user_len);
    return 1;
}

/* --- Python entry points ---------------------------------------------------------------- */

/* --- walking a block ---------------------------------------------------------------------- */

/* Lines the careful parser must read: (index, start, end) triples. */
typedef struct {
    int64_t *items;
    size_t n, cap;
} OddLines;

static int odd_push(OddLines *o, size_t index, size_t start, size_t stop) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int64_t *more = realloc(o->items, cap * 3 * sizeof(int64_t));
        if (!more) return -1;
        o->items = more;
        o->cap = cap;
    }
    o->items[o->n * 3] = (int64_t)index;
    o->items[o->n * 3 + 1] = (int64_t)start;
    o->items[o->n * 3 + 2] = (int64_t)stop;
    o->n++;
    return 0;
}

typedef int (*RowSink)(void *ctx, const Row *row); /* -1: out of memory */

/* Scan every line of data[0..size): plain rows go to `sink`, the others to `odd`; counts all
 * lines and the blank ones. Runs without the GIL (no Python calls). 0, or -1 out of memory. */
static int walk_lines(const char *data, size_t size, double factor, RouteTable *routes,
                      TimeCache *tc, RowSink sink, void *ctx, OddLines *odd, size_t *lines,
                      size_t *blank) {
    char *route_buf = malloc(ROUTE_BUF);
    if (!route_buf) return -1;
    int failed = 0;
    size_t pos = 0, index = 0;
    while (pos < size) {
        int odd_bytes;
        size_t stop = next_line(data, pos, size, &odd_bytes);
        size_t len = stop - pos;
        const char *line = data + pos;
        while (len && line[len - 1] == '\r') len--;
        size_t k = 0;
        while (k < len && is_space((unsigned char)line[k])) k++;
        if (k == len) {
            (*blank)++;
        } else {
            Row row;
            int r = k || odd_bytes ? 0 : scan_line(line, len, factor, routes, tc, route_buf, &row);
            if (r < 0 || (r && sink(ctx, &row) < 0) || (!r && odd_push(odd, index, pos, stop) < 0)) {
                failed = 1;
                break;
            }
        }
        index++;
        pos = stop + 1;
    }
    *lines = index;
    free(route_buf);
    return failed ? -1 : 0;
}

static PyObject *route_names(const RouteTable *routes) {
    PyObject *names = PyList_New((Py_ssize_t)routes->count);
    if (!names) return NULL;
    for (size_t i = 0; i < routes->count; i++) {
        size_t start = routes->offsets[i], len = routes->offsets[i + 1] - start;
        PyObject *s = PyUnicode_DecodeASCII(routes->arena + start, (Py_ssize_t)len, NULL);
        if (!s) {
            Py_DECREF(names);
            return NULL;
        }
        PyList_SET_ITEM(names, (Py_ssize_t)i, s);
    }
    return names;
}

/* --- scan_clf: the rows themselves, for checking the scanner line by line ---------------- */

typedef struct {
    int32_t *minute, *route;
    int16_t *status;
    double *latency;
    uint64_t *client;
    size_t n;
} Columns;

static int columns_add(void *ctx, const Row *row) {
    Columns *c = ctx; /* sized for every line of the block: no growth */
    c->minute[c->n] = (int32_t)row->minute;
    c->route[c->n] = row->route;
    c->status[c->n] = row->status;
    c->latency[c->n] = row->latency_ms;
    c->client[c->n] = row->client;
    c->n++;
    return 0;
}

static PyObject *scan_clf(PyObject *self, PyObject *args) {
    Py_buffer buf;
    double factor;
    if (!PyArg_ParseTuple(args, "y*d", &buf, &factor)) return NULL;
    const char *data = buf.buf;
    size_t size = (size_t)buf.len, cap = 1;
    for (const char *c = data; (c = memchr(c, '\n', size - (size_t)(c - data))); c++) cap++;
    Columns cols = {malloc(cap * 4), malloc(cap * 4), malloc(cap * 2), malloc(cap * 8),
                    malloc(cap * 8), 0};
    OddLines odd = {NULL, 0, 0};
    RouteTable routes;
    TimeCache tc = {{0}, 0, 0};
    size_t lines = 0, blank = 0;
    int failed = table_init(&routes) < 0 || !cols.minute || !cols.route || !cols.status ||
                 !cols.latency || !cols.client;
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS;
        failed = walk_lines(data, size, factor, &routes, &tc, columns_add, &cols, &odd, &lines,
                            &blank) < 0;
        Py_END_ALLOW_THREADS;
    }
    PyObject *result = NULL, *names = NULL;
    if (failed) {
        PyErr_NoMemory();
    } else if ((names = route_names(&routes))) {
        size_t n = cols.n;
        result = Py_BuildValue("nny#y#y#y#y#y#N", (Py_ssize_t)lines, (Py_ssize_t)blank,
                               (char *)cols.minute, (Py_ssize_t)(n * 4), (char *)cols.route,
                               (Py_ssize_t)(n * 4), (char *)cols.status, (Py_ssize_t)(n * 2),
                               (char *)cols.latency, (Py_ssize_t)(n * 8), (char *)cols.client,
                               (Py_ssize_t)(n * 8), odd.items ? (char *)odd.items : "",
                               (Py_ssize_t)(odd.n * 3 * sizeof(int64_t)), names);
    }
    free(cols.minute);
    free(cols.route);
    free(cols.status);
    free(cols.latency);
    free(cols.client);
    free(odd.items);
    table_free(&routes);
    PyBuffer_Release(&buf);
    return result;
}

static PyObject *py_normalise_route(PyObject *self, PyObject *args) {
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "s#", &s, &n)) return NULL;
    if (n > MAX_PATH_LEN) Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) Py_RETURN_NONE; /* scan_line sends such lines to Python */
    char out[ROUTE_BUF];
    Py_ssize_t len = normalise(s, (size_t)n, out);
    if (len < 0) Py_RETURN_NONE;
    return PyUnicode_DecodeASCII(out, len, NULL);
}

static PyObject *py_hash(PyObject *self, PyObject *args) {
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "s#", &s, &n)) return NULL;
    return PyLong_FromUnsignedLongLong(hash_bytes(s, (size_t)n));
}

/* --- the aggregator: whole files folded in C ------------------------------------------- */

#define NO_MINUTE INT32_MIN
#define LAT_CACHE 4096
#define MAX_CLIENTS 500000

typedef struct {
    int32_t minute, route, sub; /* sub: status, or latency bucket */
    int64_t n;                  /* 0: empty slot */
} Count;

typedef struct {
    Count *slots;
    size_t cap, count;
} CountMap;

typedef struct {
    uint64_t client;
    int32_t route, last_seen, last_error, used;
} Client;

typedef struct {
    Client *slots;
    size_t cap, count;
} ClientMap;

static int counts_init(CountMap *m) {
    m->cap = 4096;
    m->count = 0;
    m->slots = calloc(m->cap, sizeof(Count));
    return m->slots ? 0 : -1;
}

static inline size_t count_hash(int32_t minute, int32_t route, int32_t sub) {
    return (size_t)mix64(((uint64_t)(uint32_t)minute << 32) ^ ((uint64_t)(uint32_t)route << 11) ^
                         (uint64_t)(uint32_t)sub);
}

static int counts_grow(CountMap *m) {
    size_t cap = m->cap * 2;
    Count *slots = calloc(cap, sizeof(Count));
    if (!slots) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        Count *c = &m->slots[i];
        if (!c->n) continue;
        size_t j = count_hash(c->minute, c->route, c->sub) & (cap - 1);
        while (slots[j].n) j = (j + 1) & (cap - 1);
        slots[j] = *c;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static inline int counts_add(CountMap *m, int32_t minute, int32_t route, int32_t sub) {
    size_t j = count_hash(minute, route, sub) & (m->cap - 1);
    for (;;) {
        Count *c = &m->slots[j];
        if (!c->n) break;
        if (c->minute == minute && c->route == route && c->sub == sub) {
            c->n++;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = (Count){minute, route, sub, 1};
    if (++m->count * 2 > m->cap) return counts_grow(m);
    return 0;
}

static int clients_init(ClientMap *m) {
    m->cap = 4096;
    m->count = 0;
    m->slots = calloc(m->cap, sizeof(Client));
    return m->slots ? 0 : -1;
}

static inline size_t client_slot_hash(uint64_t client, int32_t route) {
    return (size_t)mix64(client ^ ((uint64_t)(uint32_t)route * 0x9e3779b97f4a7c15ULL));
}

/* Rebuild into `cap` slots, keeping only clients sampled at `level`. */
static int clients_rebuild(ClientMap *m, size_t cap, int level) {
    uint64_t mask = level ? ((1ULL << level) - 1) : 0;
    Client *slots = calloc(cap, sizeof(Client));
    if (!slots) return -1;
    size_t count = 0;
    for (size_t i = 0; i < m->cap; i++) {
        Client *c = &m->slots[i];
        if (!c->used || (c->client & mask)) continue;
        size_t j = client_slot_hash(c->client, c->route) & (cap - 1);
        while (slots[j].used) j = (j + 1) & (cap - 1);
        slots[j] = *c;
        count++;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->count = count;
    return 0;
}

typedef struct {
    PyObject_HEAD
    RouteTable routes;
    CountMap status, latency;
    ClientMap clients;
    int level; /* clients kept: those whose hash ends in this many zero bits */
    int status_only; /* count (minute, route, status) only: no latency, no clients */
    int busy;
    TimeCache tc;
    uint64_t lat_key[LAT_CACHE]; /* bits of recent latencies (0: empty) and their buckets */
    int32_t lat_bucket[LAT_CACHE];
} Aggregator;

static void Aggregator_dealloc(Aggregator *self) {
    table_free(&self->routes);
    free(self->status.slots);
    free(self->latency.slots);
    free(self->clients.slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Aggregator_init(Aggregator *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"client_level", "status_only", NULL};
    int level = 0, status_only = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|ip", kwlist, &level, &status_only)) return -1;
    if (level < 0 || level > 40) {
        PyErr_SetString(PyExc_ValueError, "client_level must be between 0 and 40");
        return -1;
    }
    if (self->status.slots) {
        PyErr_SetString(PyExc_RuntimeError, "Aggregator is already initialised");
        return -1;
    }
    if (table_init(&self->routes) < 0 || counts_init(&self->status) < 0 ||
        counts_init(&self->latency) < 0 || clients_init(&self->clients) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->level = level;
    self->status_only = status_only;
    return 0;
}

static int add_client(Aggregator *self, uint64_t client, int32_t route, int32_t minute,
                      int error) {
    uint64_t mask = self->level ? ((1ULL << self->level) - 1) : 0;
    if (client & mask) return 0;
    ClientMap *m = &self->clients;
    size_t j = client_slot_hash(client, route) & (m->cap - 1);
    for (;;) {
        Client *c = &m->slots[j];
        if (!c->used) break;
        if (c->client == client && c->route == route) {
            if (minute > c->last_seen) c->last_seen = minute;
            if (error && minute > c->last_error) c->last_error = minute;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = (Client){client, route, minute, error ? minute : NO_MINUTE, 1};
    m->count++;
    if (m->count > MAX_CLIENTS) {
        /* distinct sampling: keep only clients whose hash ends in one more zero bit */
        while (m->count > MAX_CLIENTS && self->level < 40) {
            self->level++;
            if (clients_rebuild(m, m->cap, self->level) < 0) return -1;
        }
    } else if (m->count * 2 > m->cap) {
        return clients_rebuild(m, m->cap * 2, self->level);
    }
    return 0;
}

static const double LOG_LATENCY_BASE = 0.09531017980432493; /* log(1.1) */

/* floor(log(ms) / log(1.1)) as polars computes it; request times repeat (millisecond
 * resolution), so most come from a small cache instead of log(). */
static inline int32_t latency_bucket(Aggregator *self, double latency_ms) {
    double ms = latency_ms < 0.01 ? 0.01 : latency_ms;
    uint64_t bits;
    memcpy(&bits, &ms, 8);
    size_t j = (size_t)(mix64(bits) & (LAT_CACHE - 1));
    if (self->lat_key[j] == bits) return self->lat_bucket[j];
    int32_t bucket = (int32_t)floor(log(ms) / LOG_LATENCY_BASE);
    self->lat_key[j] = bits; /* never 0: ms >= 0.01 */
    self->lat_bucket[j] = bucket;
    return bucket;
}

static int aggregator_add(void *ctx, const Row *row) {
    Aggregator *self = ctx;
    int32_t minute = (int32_t)row->minute;
    if (self->status_only) return counts_add(&self->status, minute, row->route, row->status);
    if (counts_add(&self->status, minute, row->route, row->status) < 0 ||
        add_client(self, row->client, row->route, minute, row->status >= 500) < 0)
        return -1;
    if (isnan(row->latency_ms)) return 0;
    return counts_add(&self->latency, minute, row->route, latency_bucket(self, row->latency_ms));
}

static PyObject *Aggregator_feed(Aggregator *self, PyObject *args) {
    Py_buffer buf;
    double factor;
    if (!self->status.slots) {
        PyErr_SetString(PyExc_RuntimeError, "Aggregator is not initialised");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*d", &buf, &factor)) return NULL;
    if (self->busy) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_RuntimeError, "Aggregator.feed is already running in a thread");
        return NULL;
    }
    self->busy = 1;
    OddLines odd = {NULL, 0, 0};
    size_t lines = 0, blank = 0;
    int failed;
    Py_BEGIN_ALLOW_THREADS;
    failed = walk_lines(buf.buf, (size_t)buf.len, factor, &self->routes, &self->tc,
                        aggregator_add, self, &odd, &lines, &blank) < 0;
    Py_END_ALLOW_THREADS;
    self->busy = 0;
    PyBuffer_Release(&buf);
    PyObject *result = NULL;
    if (failed)
        PyErr_NoMemory();
    else
        result = Py_BuildValue("nny#", (Py_ssize_t)lines, (Py_ssize_t)blank,
                               odd.items ? (char *)odd.items : "",
                               (Py_ssize_t)(odd.n * 3 * sizeof(int64_t)));
    free(odd.items);
    return result;
}

static PyObject *count_columns(CountMap *m) {
    size_t n = m->count;
    PyObject *minute = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *route = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *sub = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *count = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8));
    if (!minute || !route || !sub || !count) {
        Py_XDECREF(minute);
        Py_XDECREF(route);
        Py_XDECREF(sub);
        Py_XDECREF(count);
        return NULL;
    }
    int32_t *pm = (int32_t *)PyBytes_AS_STRING(minute), *pr = (int32_t *)PyBytes_AS_STRING(route),
            *ps = (int32_t *)PyBytes_AS_STRING(sub);
    int64_t *pn = (int64_t *)PyBytes_AS_STRING(count);
    size_t o = 0;
    for (size_t i = 0; i < m->cap; i++) {
        Count *c = &m->slots[i];
        if (!c->n) continue;
        pm[o] = c->minute;
        pr[o] = c->route;
        ps[o] = c->sub;
        pn[o] = c->n;
        o++;
    }
    return Py_BuildValue("NNNN", minute, route, sub, count);
}

static PyObject *Aggregator_result(Aggregator *self, PyObject *unused) {
    if (!self->status.slots) {
        PyErr_SetString(PyExc_RuntimeError, "Aggregator is not initialised");
        return NULL;
    }
    uint64_t mask = self->level ? ((1ULL << self->level) - 1) : 0;
    ClientMap *m = &self->clients;
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used && !(m->slots[i].client & mask)) n++;
    PyObject *client = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8));
    PyObject *route = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *seen = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *error = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    PyObject *names = NULL;
    if (!client || !route || !seen || !error) goto fail;
    uint64_t *pc = (uint64_t *)PyBytes_AS_STRING(client);
    int32_t *pr = (int32_t *)PyBytes_AS_STRING(route), *ps = (int32_t *)PyBytes_AS_STRING(seen),
            *pe = (int32_t *)PyBytes_AS_STRING(error);
    size_t o = 0;
    for (size_t i = 0; i < m->cap; i++) {
        Client *c = &m->slots[i];
        if (!c->used || (c->client & mask)) continue;
        pc[o] = c->client;
        pr[o] = c->route;
        ps[o] = c->last_seen;
        pe[o] = c->last_error;
        o++;
    }
    names = route_names(&self->routes);
    if (!names) goto fail;
    PyObject *status = count_columns(&self->status);
    if (!status) goto fail;
    PyObject *latency = count_columns(&self->latency);
    if (!latency) {
        Py_DECREF(status);
        goto fail;
    }
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:i}", "routes", names, "status", status,
                         "latency", latency, "client", client, "client_route", route,
                         "last_seen", seen, "last_error", error, "client_level", self->level);
fail:
    Py_XDECREF(client);
    Py_XDECREF(route);
    Py_XDECREF(seen);
    Py_XDECREF(error);
    Py_XDECREF(names);
    return NULL;
}

static PyMethodDef Aggregator_methods[] = {
    {"feed", (PyCFunction)Aggregator_feed, METH_VARARGS,
     "feed(block, factor) -> (lines, blank, bad): fold the plain lines of a block of whole "
     "lines; bad holds (index, start, end) int64 triples of the others."},
    {"result", (PyCFunction)Aggregator_result, METH_NOARGS,
     "result() -> dict of column bytes: status and latency (minute, route, status|bucket, n), "
     "clients (client, client_route, last_seen, last_error), routes, client_level."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject AggregatorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "warroom.triage._scan.Aggregator",
    .tp_doc = "Aggregator(client_level=0, status_only=False): counts per (minute, route, "
              "status), latency histograms per (minute, route, bucket), clients' last seen and "
              "last 5xx minutes (status_only: the counts alone).",
    .tp_basicsize = sizeof(Aggregator),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Aggregator_init,
    .tp_dealloc = (destructor)Aggregator_dealloc,
    .tp_methods = Aggregator_methods,
};

static PyMethodDef methods[] = {
    {"scan_clf", scan_clf, METH_VARARGS,
     "scan_clf(block, factor) -> (lines, blank, minute, route, status, latency_ms, client, "
     "bad, routes): column bytes of the plain lines, (index, start, end) of the others."},
    {"normalise_route", py_normalise_route, METH_VARARGS,
     "normalise_route(path) -> route, or None when the path needs the Python rules."},
    {"client_hash", py_hash, METH_VARARGS, "client_hash(text) -> the 64-bit hash scan_clf uses."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_scan",
    .m_doc = "Compiled access-log scanner for warroom triage.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    init_classes();
    if (PyType_Ready(&AggregatorType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&AggregatorType);
    if (PyModule_AddObject(m, "Aggregator", (PyObject *)&AggregatorType) < 0) {
        Py_DECREF(&AggregatorType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "NO_MINUTE", NO_MINUTE);
    PyModule_AddIntConstant(m, "MAX_CLIENTS", MAX_CLIENTS);
    return m;
}
