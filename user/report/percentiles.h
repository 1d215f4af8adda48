// Latency percentiles, shared by the summary, storms and the per-VMA report:
// from fixed-size histograms, so that memory does not grow with the faults.
#pragma once

#include "util/latency_histogram.h"
