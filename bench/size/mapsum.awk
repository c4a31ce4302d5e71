# mapsum.awk - what each part contributes to a linked image, from a GNU ld
# map file (-Wl,-Map): bytes of the input sections kept after
# --gc-sections, grouped by the object they came from.
#
#   awk -f mapsum.awk image.map
#
# Prints "<group> <flash bytes> <RAM bytes>" per group of objects (parts of
# udfu, the port, the board/application code, libgcc), largest first is left
# to the caller (sort -k2 -nr).

function hex(s,    i, c, v) {
    v = 0
    s = tolower(s)
    sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789abcdef", substr(s, i, 1)) - 1
        v = v * 16 + c
    }
    return v
}

function group(f) {
    if (f ~ /libgcc/) return "libgcc"
    sub(/.*\//, "", f)
    sub(/\.o$/, "", f)
    if (f ~ /^usbd/) return "usbd"
    if (f ~ /^dfu/) return "dfu+dfuse"
    if (f ~ /^boot_/) return "boot"
    if (f == "rt" || f == "mem" || f == "proto") return f
    if (f == "dcd_template") return "port:dcd_template"
    if (f == "jump" || f == "vectors") return "port:cortex-m"
    return "board+main"
}

function add(sec, size, file,    g) {
    if (sec ~ /^\.(debug|comment|ARM\.attributes|riscv\.attributes)/) return
    g = group(file)
    seen[g] = 1
    if (sec ~ /^\.(bss|sbss|udfu_noinit)/ || sec == "COMMON") ram[g] += hex(size)
    else if (sec ~ /^\.(data|sdata)/) { ram[g] += hex(size); flash[g] += hex(size) }
    else flash[g] += hex(size)
}

/^Linker script and memory map/ { go = 1; next }
!go { next }
/^ (\.[A-Za-z_]|COMMON)/ {
    if (NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) add($1, $3, $4)
    else if (NF == 1) pending = $1
    next
}
pending != "" && NF >= 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add(pending, $2, $3) }
{ pending = "" }

END {
    for (g in seen) printf "%s %d %d\n", g, flash[g], ram[g]
}
