# stack.awk - worst-case stack depth from GCC's call graphs
# (-fcallgraph-info=su: one .ci file per object, VCG format, each function
# node labelled with its frame size).
#
#   awk -v entries="f g" -f stack.awk *.ci      worst path from f or g
#   awk -v part="a.ci b.ci" -f stack.awk *.ci   from every global function
#                                               defined in a.ci or b.ci
#   entries=":f" names a static function f of any file; skip="g h" leaves
#   out the calls to g and h (a branch that cannot be on the stack then).
#
# Prints one line: "<worst bytes> <max frame bytes> <max frame function>
# <path> <notes>". Calls through pointers (callbacks) count as leaves, as do
# functions without a graph here (libgcc, libc: listed in the notes).
# Recursion is reported, not followed.

function basename_(p) { sub(/.*\//, "", p); return p }

function label_name(l) { sub(/\\n.*/, "", l); return l }

# Stack of f plus its deepest callee; best[f] holds the path.
function depth(f,    n, i, c, d, m, bestc) {
    if (f in memo) return memo[f]
    if (f in onpath) { recursion = recursion " " name[f]; return 0 }
    if (!(f in frame)) {
        if (f != "__indirect_call") unknown[name[f] != "" ? name[f] : f] = 1
        memo[f] = 0; best[f] = ""
        return 0
    }
    onpath[f] = 1
    m = 0; bestc = ""
    n = split(adj[f], c, SUBSEP)
    for (i = 1; i <= n; i++) {
        if (c[i] == "" || c[i] in skipset) continue
        d = depth(c[i])
        if (d > m) { m = d; bestc = c[i] }
    }
    delete onpath[f]
    memo[f] = frame[f] + m
    best[f] = bestc
    return memo[f]
}

function path(f,    s) {
    s = name[f]
    while (best[f] != "") { f = best[f]; s = s ">" name[f] }
    return s
}

BEGIN {
    ns = split(skip, sk, " ")
    for (i = 1; i <= ns; i++) skipset[sk[i]] = 1
    np = split(part, pf, " ")
    for (i = 1; i <= np; i++) inpart[basename_(pf[i])] = 1
}

/^node:/ {
    t = $0; sub(/.*title: "/, "", t); sub(/".*/, "", t)
    l = $0; sub(/.*label: "/, "", l); sub(/" .*/, "", l); sub(/"}$/, "", l)
    if (!(t in name) || name[t] == t) name[t] = label_name(l)
    if (match(l, /[0-9]+ bytes/)) {
        frame[t] = substr(l, RSTART, RLENGTH) + 0
        if (l ~ /dynamic/) dynamic = dynamic " " name[t]
        if (inpart[basename_(FILENAME)]) {
            if (t !~ /:/) ent[t] = 1
            if (frame[t] > maxf) { maxf = frame[t]; maxfn = name[t] }
        }
    }
    next
}

/^edge:/ {
    s = $0; sub(/.*sourcename: "/, "", s); sub(/".*/, "", s)
    d = $0; sub(/.*targetname: "/, "", d); sub(/".*/, "", d)
    adj[s] = adj[s] SUBSEP d
    next
}

END {
    ne = split(entries, e, " ")
    for (i = 1; i <= ne; i++) {
        if (substr(e[i], 1, 1) != ":") { ent[e[i]] = 1; continue }
        # ":name": the static function name, whatever file defines it
        for (f in frame)
            if (substr(f, length(f) - length(e[i]) + 1) == e[i]) ent[f] = 1
    }
    worst = 0; wf = ""
    for (f in ent) {
        d = depth(f)
        if (d > worst || (d == worst && f < wf)) { worst = d; wf = f }
    }
    for (f in ent)
        if (ne && f in frame && frame[f] > maxf) { maxf = frame[f]; maxfn = name[f] }
    notes = ""
    for (u in unknown) notes = notes (notes == "" ? "" : ",") u
    if (notes != "") notes = "leaf:" notes
    if (recursion != "") notes = notes " RECURSION:" recursion
    if (dynamic != "") notes = notes " DYNAMIC:" dynamic
    printf "%d %d %s %s %s\n", worst, maxf + 0, (maxfn == "" ? "-" : maxfn), \
        (wf == "" ? "-" : path(wf)), notes
}
