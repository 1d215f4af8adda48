/* Files a self-stopping workload leaves for its test in DIR: its step number
 * before each stop (DIR/step), and what it wants the test to know. */
#ifndef VMATRACE_TEST_STEPS_H
#define VMATRACE_TEST_STEPS_H

#include <signal.h>
#include <stdio.h>

static int write_text(const char* dir, const char* name, const char* text) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE* f = fopen(path, "w");
  if (!f) return -1;
  int ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

static int stop_at(const char* dir, int step) {
  char text[16];
  snprintf(text, sizeof(text), "%d\n", step);
  if (write_text(dir, "step", text)) return -1;
  return raise(SIGSTOP);
}

#endif
