# gnuplot script for the throughput benchmark (bench/run.sh runs it):
#   gnuplot -e "datafile='throughput-plot.dat'; outfile='throughput.png'" plot.gp
# One group of bars per configuration (flash part, bus speed, protocol),
# one bar per device: efficiency = lower bound / total time, 1 MiB image.
if (!exists("datafile")) datafile = 'throughput-plot.dat'
if (!exists("outfile")) outfile = 'throughput.png'
if (!exists("xfer")) xfer = 2048
set terminal pngcairo size 1200,560 font "sans,10"
set output outfile
set title sprintf("udfu throughput model: efficiency for a 1 MiB image (dfu-util 0.11 host, wTransferSize %d)", xfer)
set ylabel "efficiency = max(bus, flash) / total"
set yrange [0:1.1]
set ytics 0.1
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set xtics rotate by -25 scale 0
set arrow from graph 0, first 0.95 to graph 1, first 0.95 nohead dashtype 2 lc rgb "#aa0000"
set label "target 0.95 (STM32F4, FS)" at graph 0.01, first 1.06 tc rgb "#aa0000"
plot datafile using 2:xtic(1) title columnheader(2) lc rgb "#1f77b4", \
     '' using 3 title columnheader(3) lc rgb "#2ca02c", \
     '' using 4 title columnheader(4) lc rgb "#ff7f0e", \
     '' using 5 title columnheader(5) lc rgb "#d62728", \
     '' using 6 title columnheader(6) lc rgb "#7f7f7f"
