/* What ntfy.c (the client: threads, transfers) and ntfy_message.c (the
 * texts camrig publishes) share. Not for other modules. */
#ifndef CR_CONTROL_NTFY_INTERNAL_H
#define CR_CONTROL_NTFY_INTERNAL_H

#include "control/ntfy.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "camrig-version.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_LINE_MAX (64 * 1024)              /* bytes of one stream line */
#define RESPONSE_MAX 4096                 /* bytes of a POST answer kept */
#define ERROR_BODY_MAX 256                /* bytes of an HTTP error body kept for the log */
#define REPLY_MAX 3900                    /* bytes of a reply text (ntfy turns > 4096 into an attachment) */
#define REPLIES_QUEUED 16                 /* replies waiting to be sent */
#define REPLIES_IN_FLIGHT 2               /* reply POSTs at once */
#define EVENT_DEPTH 32                    /* events queued for ntfy-pub */
#define RUN_IDS 64                        /* ids of messages run, remembered */
#define OWN_IDS 64                        /* ids of camrig's own messages, remembered */
#define ID_MAX 64                         /* bytes of a message id (ntfy's are 12) */
#define TOKEN_FILE_MAX 1024               /* bytes of a token file */
#define CONNECT_TIMEOUT_S 10L
#define PUBLISH_TIMEOUT_S 30L
#define STALL_NS (150 * CR_NS_PER_SEC)    /* silence that ends a stream */
#define BACKOFF_MIN_NS (1 * CR_NS_PER_SEC)
#define BACKOFF_MAX_NS (60 * CR_NS_PER_SEC)
#define TAG "camrig"                      /* on everything camrig publishes */
#define ATTACH_MAX (8 * 1024 * 1024)      /* bytes of an attachment (ntfy.sh takes 15 MB) */

/* One message to publish. */
struct job {
	char *topic;
	char *title;      /* ASCII, no control characters */
	char *tags;       /* comma-separated, always starting with TAG */
	int priority;     /* 1..5 */
	char *body;
	char *attach;     /* a file sent as the message's attachment (PUT); NULL: none */
};

/* A POST in flight. */
struct post {
	CURL *easy;
	struct curl_slist *headers;
	struct job *job;
	char response[RESPONSE_MAX];
	size_t len;       /* bytes in response */
};

/* The subscription stream (ntfy-sub only). */
struct stream {
	CURL *easy;
	struct curl_slist *headers;
	char *line;               /* STREAM_LINE_MAX + 1 bytes */
	size_t len;               /* bytes in line */
	bool overlong;            /* dropping the rest of a too-long line */
	bool opened;              /* the "open" event came */
	int64_t last_data_ns;     /* last byte received, CLOCK_MONOTONIC ns */
	char error_body[ERROR_BODY_MAX];  /* a non-200 answer's first bytes */
	size_t error_len;
};

struct cr_ntfy {
	const struct cr_ntfy_config *config;
	struct cr_control *control;
	struct cr_events *events;
	char *token;              /* NULL: none; never logged */
	char *reply_topic;
	char *user_agent;
	atomic_bool stop;
	struct cr_event_sub *sub;

	/* ntfy-sub */
	pthread_t sub_thread;
	bool sub_started;
	CURLM *sub_multi;
	struct stream stream;
	int64_t first_since_s;    /* Unix s: the first stream's since= */
	char last_id[ID_MAX];     /* the last message seen; "" before any */
	char run_ids[RUN_IDS][ID_MAX];
	unsigned run_next;
	struct job *replies[REPLIES_QUEUED];
	unsigned nreplies;
	struct post *in_flight[REPLIES_IN_FLIGHT];
	unsigned failures;        /* stream failures in a row, for the log */

	/* ntfy-pub */
	pthread_t pub_thread;
	bool pub_started;
	CURLM *pub_multi;

	pthread_mutex_t lock;     /* guards the two below */
	struct cr_ntfy_stats stats;
	char own_ids[OWN_IDS][ID_MAX];
	unsigned own_next;
};

/* A message to publish on the reply topic; TAG comes first in its tags. */
struct job *cr_ntfy_job_new(struct cr_ntfy *n, const char *title, int priority, const char *tags, const char *body);

/* NULL-safe; sets *job to NULL. */
void cr_ntfy_job_free(struct job **job);

/* The reply to publish after running line (its JSON reply from the control). */
struct job *cr_ntfy_reply_job(struct cr_ntfy *n, const char *line, json_t *reply);

/* The notification for an event from the bus, or NULL when ntfy.events does
 * not list its type or it is not worth one. */
struct job *cr_ntfy_event_job(struct cr_ntfy *n, json_t *event);

#endif
