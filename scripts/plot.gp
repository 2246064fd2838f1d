# SPDX-License-Identifier: MIT
# Quick plot of any poolbench results.csv with gnuplot: a y column (default
# ns_per_job) against a chosen x column, one line per backend/reclaim and
# workload.  For a shell (term=dumb) or a PNG (pngcairo).
# With summary.csv next to the CSV (poolbench writes it) and y ns_per_job or
# jobs_per_s: markers are the median and bars its order-statistic interval
# (the same statistic, summary.csv's *_med_ci_lo/_hi columns); hollow markers
# missed the CoV target.  Without it: lines through the mean of the ok
# repetitions, every repetition a point, no interval (the title says so).
# scripts/plot.py draws the full figures.
#
# usage:
#   gnuplot -e "csv='results/x/results.csv'" scripts/plot.gp
#   gnuplot -e "csv='x.csv'; xcol='workers'; term='dumb'" scripts/plot.gp
#   gnuplot -e "csv='x.csv'; xcol='seg_size'; ycol='allocs_per_job'; wl='empty'; out='a.png'" scripts/plot.gp
# variables (all but csv optional):
#   csv   results.csv written by poolbench (docs/csv.md)
#   xcol  numeric x column: workers (default), producers, seg_size, batch, ...
#   ycol  numeric y column: ns_per_job (default), jobs_per_s, lat_p99_ns, ...
#   term  png (default: pngcairo, 900x560), svg, or dumb (text, 120x36, to stdout)
#   out   output file (default: quick_YCOL_vs_XCOL.png|svg next to the CSV)
#   wl    only this workload (default: every workload, one line each)
#   logy  1: log y, 0: linear (default: log when the data spans a decade)
#   logx  1: log2 x (default: 0)
# Relies on the fixed first columns of results.csv: backend (2), reclaim (3),
# workload (4), status (14); x and y are looked up by name in the header.

if (!exists("csv")) { print "plot.gp: set csv, e.g. gnuplot -e \"csv='results.csv'\" scripts/plot.gp"; exit status 2 }
if (!exists("xcol")) xcol = "workers"
if (!exists("ycol")) ycol = "ns_per_job"
if (!exists("term")) term = "png"
if (!exists("wl")) wl = ""
if (!exists("logx")) logx = 0

# The header must name xcol, ycol and the fixed columns.
hdr = system(sprintf("head -n 1 '%s' 2>/dev/null | tr -d '\\r'", csv))
if (strlen(hdr) == 0) { print sprintf("plot.gp: %s is missing or empty", csv); exit status 1 }
has(c) = strstrt("," . hdr . ",", "," . c . ",") > 0
if (!has("backend") || !has("reclaim") || !has("workload") || !has("status")) {
	print sprintf("plot.gp: %s is not a poolbench results.csv (no backend/reclaim/workload/status columns)", csv)
	exit status 1
}
if (!has(xcol)) { print sprintf("plot.gp: x column %s is not in %s", xcol, csv); exit status 1 }
if (!has(ycol)) { print sprintf("plot.gp: y column %s is not in %s", ycol, csv); exit status 1 }

# Series present among the ok rows: "backend/reclaim:workload" (backend alone
# for backends without a reclaimer), one word each.
SERIES = system(sprintf("awk -F, 'NR > 1 && $14 == \"ok\" && (\"%s\" == \"\" || $4 == \"%s\") {s = ($3 == \"-\" ? $2 : $2 \"/\" $3) \":\" $4; if (!(s in seen)) {seen[s] = 1; printf \"%%s \", s}}' '%s'", wl, wl, csv))
if (words(SERIES) == 0) { print sprintf("plot.gp: %s has no ok rows%s", csv, (wl eq "" ? "" : " for workload " . wl)); exit status 1 }

set datafile separator comma
set datafile columnheaders

dir = system(sprintf("dirname '%s'", csv))
sfile = dir . "/summary.csv"
shdr = system(sprintf("head -n 1 '%s' 2>/dev/null | tr -d '\\r'", sfile))
shas(c) = strstrt("," . shdr . ",", "," . c . ",") > 0
use_summary = shas(ycol . "_med_ci_lo") && shas(ycol . "_median") && shas(xcol) && shas("cov_met")

name(b, r) = (r eq "-" ? b : b . "/" . r)
# (gnuplot functions take at least one argument: d is a dummy)
series_of(d) = name(strcol(2), strcol(3)) . ":" . strcol(4)
okrow(d) = strcol(14) eq "ok"
yval(s) = (okrow(0) && series_of(0) eq s) ? column(ycol) : NaN
# The colours scripts/plot.py uses (its PALETTE), by backend/reclaim.
colour(s) = s[1:strstrt(s, ":") - 1]
rgb(s) = colour(s) eq "segmented/limbo" ? "#d62728" : colour(s) eq "segmented/hp" ? "#1f77b4" : \
	colour(s) eq "segmented/urcu-memb" ? "#2ca02c" : colour(s) eq "segmented/urcu-qsbr" ? "#17becf" : \
	colour(s) eq "segmented/ckepoch" ? "#9467bd" : colour(s) eq "segmented/none" ? "#7f7f7f" : \
	colour(s) eq "mutex" ? "#ff7f0e" : colour(s) eq "ckring" ? "#8c564b" : "#393b79"

# Log y when the data spans a decade or more (unless logy is given).
if (!exists("logy")) {
	stats csv using ((okrow(0) && (wl eq "" || strcol(4) eq wl)) ? column(ycol) : NaN) nooutput
	logy = (STATS_min > 0 && STATS_max / STATS_min >= 10) ? 1 : 0
}

if (term eq "dumb") {
	set terminal dumb size 120,36
	set output
} else {
	ext = (term eq "svg" ? "svg" : "png")
	if (!exists("out")) { out = sprintf("%s/quick_%s_vs_%s.%s", dir, ycol, xcol, ext) }
	if (term eq "svg") {
		set terminal svg size 900,560 enhanced font "DejaVu Sans,10"
	} else {
		set terminal pngcairo size 900,560 enhanced font "DejaVu Sans,10"
	}
	set output out
}

if (use_summary) {
	set title sprintf("poolbench: %s vs %s (%s)\nmarkers: median; bars: its order-statistic interval (summary.csv); hollow: missed the CoV target", ycol, xcol, csv) noenhanced
	set ylabel sprintf("%s (median)", ycol) noenhanced
} else {
	set title sprintf("poolbench: %s vs %s (%s)\nno summary.csv: lines through the mean, points are repetitions, no interval", ycol, xcol, csv) noenhanced
	set ylabel sprintf("%s (points: repetitions, lines: mean)", ycol) noenhanced
}
set xlabel xcol noenhanced
set key outside right top noenhanced
set grid
# room at both ends, so that the first and last error bars are drawn whole
set offsets graph 0.05, graph 0.05, 0, 0
if (logy) { set logscale y }
if (logx) { set logscale x 2 }

# summary.csv rows of series s: the median, its interval, and whether the
# point met the CoV target (filled) or not (hollow).
sser(d) = name(strcol("backend"), strcol("reclaim")) . ":" . strcol("workload")
smed(s) = (sser(0) eq s && strcol(ycol . "_median") ne "-") ? column(ycol . "_median") : NaN
smet(s, m) = (strcol("cov_met") eq m) ? smed(s) : NaN
if (use_summary) {
	plot for [i = 1:words(SERIES)] sfile using (column(xcol)):(smed(word(SERIES, i))):(column(ycol . "_med_ci_lo")):(column(ycol . "_med_ci_hi")) \
		with yerrorbars lc rgb rgb(word(SERIES, i)) pt 7 ps 0 notitle, \
	     for [i = 1:words(SERIES)] sfile using (column(xcol)):(smed(word(SERIES, i))) \
		smooth unique with lines lc rgb rgb(word(SERIES, i)) title word(SERIES, i), \
	     for [i = 1:words(SERIES)] sfile using (column(xcol)):(smet(word(SERIES, i), "true")) \
		with points lc rgb rgb(word(SERIES, i)) pt 7 notitle, \
	     for [i = 1:words(SERIES)] sfile using (column(xcol)):(smet(word(SERIES, i), "false")) \
		with points lc rgb rgb(word(SERIES, i)) pt 6 notitle
} else {
	plot for [i = 1:words(SERIES)] csv using (column(xcol)):(yval(word(SERIES, i))) \
		smooth unique with linespoints lc rgb rgb(word(SERIES, i)) pt (i % 13 + 1) \
		title word(SERIES, i), \
	     for [i = 1:words(SERIES)] csv using (column(xcol)):(yval(word(SERIES, i))) \
		with points lc rgb rgb(word(SERIES, i)) pt (i % 13 + 1) ps 0.5 notitle
}

if (term ne "dumb") { print out }
