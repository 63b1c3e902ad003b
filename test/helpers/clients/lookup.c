// A libc resolver client (built with gcc for glibc and musl-gcc -static for musl). Each argument pair
// is one lookup; one JSON line per lookup: sorted results, or the error class, and the time it took.
//   host NAME   getaddrinfo(AF_UNSPEC)       host4 NAME / host6 NAME   one family
//   ptr ADDR    getnameinfo(NI_NAMEREQD)     srv NAME                  res_search(T_SRV)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_RESULTS 256

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Results are printed sorted and without repeats, so two runs compare as strings.
static void print_result(const char *op, const char *name, char **items, int n, const char *error, double ms) {
  printf("{\"op\":\"%s\",\"name\":\"%s\",", op, name);
  if (error) printf("\"ok\":false,\"error\":\"%s\"", error);
  else {
    qsort(items, n, sizeof *items, cmp);
    printf("\"ok\":true,\"result\":[");
    int first = 1;
    for (int i = 0; i < n; i++) {
      if (i > 0 && strcmp(items[i], items[i - 1]) == 0) continue;
      printf("%s\"%s\"", first ? "" : ",", items[i]);
      first = 0;
    }
    printf("]");
  }
  printf(",\"ms\":%.1f}\n", ms);
  fflush(stdout);
}

// One name per EAI code: glibc and musl word the messages differently.
static const char *eai_name(int rc) {
  switch (rc) {
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
#ifdef EAI_NODATA
    case EAI_NODATA: return "EAI_NODATA";
#endif
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default: return "EAI_OTHER";
  }
}

static void do_host(const char *op, const char *name, int family) {
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM; // one entry per address, not one per socket type
  double t0 = now_ms();
  int rc = getaddrinfo(name, NULL, &hints, &res);
  double ms = now_ms() - t0;
  if (rc != 0) { print_result(op, name, NULL, 0, eai_name(rc), ms); return; }
  static char buf[MAX_RESULTS][INET6_ADDRSTRLEN];
  char *items[MAX_RESULTS];
  int n = 0;
  for (struct addrinfo *a = res; a && n < MAX_RESULTS; a = a->ai_next) {
    const void *addr = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                               : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
    inet_ntop(a->ai_family, addr, buf[n], sizeof buf[n]);
    items[n] = buf[n];
    n++;
  }
  freeaddrinfo(res);
  print_result(op, name, items, n, NULL, ms);
}

static void do_ptr(const char *addr) {
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (strchr(addr, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, addr, &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &s4->sin_addr);
    len = sizeof *s4;
  }
  char host[NI_MAXHOST];
  double t0 = now_ms();
  int rc = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, NULL, 0, NI_NAMEREQD);
  double ms = now_ms() - t0;
  char *items[1] = {host};
  print_result("ptr", addr, items, rc == 0, rc == 0 ? NULL : eai_name(rc), ms);
}

static void do_srv(const char *name) {
  static unsigned char answer[65535];
  double t0 = now_ms();
  int len = res_search(name, C_IN, T_SRV, answer, sizeof answer);
  double ms = now_ms() - t0;
  if (len < 0) { print_result("srv", name, NULL, 0, h_errno == HOST_NOT_FOUND ? "HOST_NOT_FOUND" : h_errno == NO_DATA ? "NO_DATA" : "TRY_AGAIN", ms); return; }
  ns_msg msg;
  if (ns_initparse(answer, len, &msg) < 0) { print_result("srv", name, NULL, 0, "unparsable", ms); return; }
  static char buf[MAX_RESULTS][NS_MAXDNAME + 32];
  char *items[MAX_RESULTS];
  int n = 0;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < MAX_RESULTS; i++) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) continue;
    const unsigned char *rd = ns_rr_rdata(rr);
    char target[NS_MAXDNAME];
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof target) < 0) continue;
    snprintf(buf[n], sizeof buf[n], "%u %u %u %s", ns_get16(rd), ns_get16(rd + 2), ns_get16(rd + 4), target);
    items[n] = buf[n];
    n++;
  }
  print_result("srv", name, items, n, NULL, ms);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *op = argv[i], *name = argv[i + 1];
    if (strcmp(op, "host") == 0) do_host(op, name, AF_UNSPEC);
    else if (strcmp(op, "host4") == 0) do_host(op, name, AF_INET);
    else if (strcmp(op, "host6") == 0) do_host(op, name, AF_INET6);
    else if (strcmp(op, "ptr") == 0) do_ptr(name);
    else if (strcmp(op, "srv") == 0) do_srv(name);
    else { fprintf(stderr, "unknown op %s\n", op); return 2; }
  }
  return 0;
}
