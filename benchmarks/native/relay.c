/*
 * Native reference relay for benchmarks/bench_toxiproxy.py --native-relay.
 *
 *     relay LISTEN_PORT UPSTREAM_PORT MAX_SECONDS
 *
 * The floor any user-space TCP proxy pays on this machine: one thread, one epoll set,
 * read() into a buffer and write() it to the peer, TCP_NODELAY on both sockets. No
 * API, no toxics, no metrics. Listens on 127.0.0.1:LISTEN_PORT only, relays each
 * accepted connection to 127.0.0.1:UPSTREAM_PORT, and exits after MAX_SECONDS (or on
 * SIGTERM/SIGINT), so a forgotten relay cannot outlive the benchmark for long.
 *
 * Flow control: when a write is short, the rest is kept, reading from the source stops
 * and the relay waits for EPOLLOUT on the destination. Either side closing or failing
 * closes both (no half-close, like Toxiproxy).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE 65536
#define MAX_EVENTS 64
#define LISTENER_TAG ((void *)1)

struct pair;

struct end {
    int fd;
    struct end *peer;
    struct pair *pair;
    char *pending; /* bytes read from the peer, not yet written to fd */
    size_t pending_off, pending_len;
    int reading; /* EPOLLIN wanted on fd */
    int writing; /* EPOLLOUT wanted on fd */
};

struct pair {
    struct end ends[2];
    int dead;
    struct pair *next_dead;
};

static volatile sig_atomic_t stopping = 0;
static int epfd = -1;
static char buffer[BUFFER_SIZE];
static struct pair *dead_pairs = NULL;

static void on_signal(int signum) {
    (void)signum;
    stopping = 1;
}

static int arm(struct end *e, int op) {
    struct epoll_event ev = {0};
    ev.events = (e->reading ? EPOLLIN : 0) | (e->writing ? EPOLLOUT : 0);
    ev.data.ptr = e;
    return epoll_ctl(epfd, op, e->fd, &ev);
}

/* Close both sockets now; the memory goes after the current epoll batch (events for it may follow). */
static void close_pair(struct pair *p) {
    if (p->dead) return;
    p->dead = 1;
    for (int i = 0; i < 2; i++) {
        if (p->ends[i].fd >= 0) {
            epoll_ctl(epfd, EPOLL_CTL_DEL, p->ends[i].fd, NULL);
            close(p->ends[i].fd);
            p->ends[i].fd = -1;
        }
        free(p->ends[i].pending);
        p->ends[i].pending = NULL;
    }
    p->next_dead = dead_pairs;
    dead_pairs = p;
}

static void free_dead(void) {
    while (dead_pairs != NULL) {
        struct pair *next = dead_pairs->next_dead;
        free(dead_pairs);
        dead_pairs = next;
    }
}

/* Write what e still owes: 0 when all is written, 1 when it would block, -1 on error. */
static int flush(struct end *e) {
    while (e->pending_off < e->pending_len) {
        ssize_t n = write(e->fd, e->pending + e->pending_off, e->pending_len - e->pending_off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            return -1;
        }
        e->pending_off += (size_t)n;
    }
    e->pending_off = e->pending_len = 0;
    return 0;
}

/* src is readable: move its bytes to its peer. -1 when the pair must close. */
static int relay(struct end *src) {
    struct end *dst = src->peer;
    for (int rounds = 0; rounds < 16; rounds++) { /* bounded, then back to epoll for fairness */
        ssize_t n = read(src->fd, buffer, sizeof buffer);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        ssize_t w = write(dst->fd, buffer, (size_t)n);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
            w = 0;
        }
        if (w < n) {
            size_t rest = (size_t)(n - w);
            char *copy = malloc(rest);
            if (copy == NULL) return -1;
            memcpy(copy, buffer + w, rest);
            dst->pending = copy;
            dst->pending_off = 0;
            dst->pending_len = rest;
            src->reading = 0;
            dst->writing = 1;
            if (arm(src, EPOLL_CTL_MOD) < 0 || arm(dst, EPOLL_CTL_MOD) < 0) return -1;
            return 0;
        }
        if ((size_t)n < sizeof buffer) return 0; /* the socket is drained */
    }
    return 0;
}

/* dst became writable: send what it owes, then let its peer be read again. */
static int drain(struct end *dst) {
    int state = flush(dst);
    if (state != 0) return state < 0 ? -1 : 0;
    free(dst->pending);
    dst->pending = NULL;
    dst->writing = 0;
    dst->peer->reading = 1;
    if (arm(dst, EPOLL_CTL_MOD) < 0 || arm(dst->peer, EPOLL_CTL_MOD) < 0) return -1;
    return 0;
}

static void nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void accept_one(int listener, int upstream_port) {
    int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)upstream_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A blocking connect: on loopback it completes at once, and this is only a reference. */
    if (upstream < 0 || connect(upstream, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        fcntl(upstream, F_SETFL, fcntl(upstream, F_GETFL) | O_NONBLOCK) < 0) {
        close(client);
        if (upstream >= 0) close(upstream);
        return;
    }
    nodelay(client);
    nodelay(upstream);
    struct pair *p = calloc(1, sizeof *p);
    if (p == NULL) {
        close(client);
        close(upstream);
        return;
    }
    p->ends[0].fd = client;
    p->ends[1].fd = upstream;
    for (int i = 0; i < 2; i++) {
        p->ends[i].peer = &p->ends[1 - i];
        p->ends[i].pair = p;
        p->ends[i].reading = 1;
    }
    if (arm(&p->ends[0], EPOLL_CTL_ADD) < 0 || arm(&p->ends[1], EPOLL_CTL_ADD) < 0) close_pair(p);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_PORT MAX_SECONDS\n", argv[0]);
        return 2;
    }
    int listen_port = atoi(argv[1]), upstream_port = atoi(argv[2]), max_seconds = atoi(argv[3]);
    if (listen_port <= 0 || listen_port > 65535 || upstream_port <= 0 || upstream_port > 65535 ||
        max_seconds <= 0) {
        fprintf(stderr, "relay: bad arguments\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)listen_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 1024) < 0) {
        perror("relay: listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {0};
    ev.events = EPOLLIN;
    ev.data.ptr = LISTENER_TAG;
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0) {
        perror("relay: epoll");
        return 1;
    }

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct epoll_event events[MAX_EVENTS];
    while (!stopping) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= max_seconds) break;
        int n = epoll_wait(epfd, events, MAX_EVENTS, 1000);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("relay: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == LISTENER_TAG) {
                accept_one(listener, upstream_port);
                continue;
            }
            struct end *e = events[i].data.ptr;
            if (e->pair->dead) continue;
            uint32_t what = events[i].events;
            int failed = 0;
            if (what & EPOLLOUT) failed = drain(e) < 0;
            if (!failed && (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) && e->reading) failed = relay(e) < 0;
            else if (!failed && (what & (EPOLLHUP | EPOLLERR))) failed = 1;
            if (failed) close_pair(e->pair);
        }
        free_dead();
    }
    return 0;
}
