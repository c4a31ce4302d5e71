# table.awk - a markdown table of one image size from the throughput CSV:
#   awk -v sz=1048576 -f table.awk throughput.csv
# one row per configuration, "total (efficiency)" per device.
BEGIN { FS="," }
NR==1 { next }
$4 == sz {
  key = $1 " | " $2 " | " $3
  if (!(key in seen)) { seen[key]=1; order[++n]=key; bus[key]=$7; fl[key]=$8; bd[key]=$9 }
  cell[key, $5] = sprintf("%.2f s (%.3f)", $6, $10)
}
END {
  print "| part | bus | protocol | bus time | flash time | bound | udfu-1 | udfu-2 | seq-5 | seq-50 | seq-100 |"
  print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= n; i++) { k = order[i]
    printf "| %s | %.3f s | %.3f s | %.3f s | %s | %s | %s | %s | %s |\n", k, bus[k], fl[k], bd[k], cell[k,"udfu-1"], cell[k,"udfu-2"], cell[k,"seq-5"], cell[k,"seq-50"], cell[k,"seq-100"] }
}
