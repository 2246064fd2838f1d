#!/bin/bash
cd .
P=scripts/profile.py
for bin in old new; do
  B=build/harness/poolbench; [ $bin = old ] && B=/tmp/old/build/harness/poolbench
  $P --poolbench $B --top 25 -- --backend segmented --reclaim hp --workers 1 > /tmp/prof2/$bin-hp-w1.txt 2>&1
  $P --poolbench $B --top 25 -- --backend segmented --reclaim ckepoch --workers 1 > /tmp/prof2/$bin-ck-w1.txt 2>&1
  $P --poolbench $B --top 25 -- --backend segmented --reclaim urcu-memb --workers 1 > /tmp/prof2/$bin-um-w1.txt 2>&1
  $P --poolbench $B --top 25 -- --backend segmented --reclaim hp --workers 2 --seg-size 1 --jobs 30000 > /tmp/prof2/$bin-hp-s1.txt 2>&1
  $P --poolbench $B --top 25 -- --backend segmented --reclaim ckepoch --workers 2 --seg-size 1 --jobs 30000 > /tmp/prof2/$bin-ck-s1.txt 2>&1
done
B=build/harness/poolbench
$P --poolbench $B --top 25 -- --backend segmented --reclaim hp --workers 1 --submit-batch 64 > /tmp/prof2/new-hp-w1-b64.txt 2>&1
$P --poolbench $B --top 25 -- --backend segmented --reclaim hp --workers 1 --backend-opt readiness=bitmap > /tmp/prof2/new-hp-w1-bitmap.txt 2>&1
$P --poolbench $B --top 25 -- --backend segmented --reclaim hp --workers 1 --submit-batch 64 --backend-opt readiness=bitmap > /tmp/prof2/new-hp-w1-b64-bitmap.txt 2>&1
touch /tmp/prof2/DONE
