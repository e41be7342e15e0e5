/* libmosquitto, opened on first use (lazy.h says why and how): only MQTT
 * uses it. */
#include "base/lazy.h"

#include <mosquitto.h>

struct cr_lazy cr_lazy_libmosquitto = {
	.name = "libmosquitto",
	.soname = "libmosquitto.so.1",
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Only a process that used libmosquitto cleans it up. */
int mosquitto_lib_cleanup(void)
{
	if (!cr_lazy_is_open(&cr_lazy_libmosquitto))
		return MOSQ_ERR_SUCCESS;
	CR_LAZY_BIND(cr_lazy_libmosquitto, mosquitto_lib_cleanup)
	return f();
}

CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_lib_init, (void), ())
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_lib_version, (int *major, int *minor, int *revision), (major, minor, revision))
CR_LAZY(cr_lazy_libmosquitto, const char *, mosquitto_strerror, (int mosq_errno), (mosq_errno))
CR_LAZY(cr_lazy_libmosquitto, const char *, mosquitto_reason_string, (int reason_code), (reason_code))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_pub_topic_check, (const char *topic), (topic))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_topic_matches_sub, (const char *sub, const char *topic, bool *result),
	(sub, topic, result))

/* clients */
CR_LAZY(cr_lazy_libmosquitto, struct mosquitto *, mosquitto_new, (const char *id, bool clean_session, void *obj),
	(id, clean_session, obj))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_reinitialise, (struct mosquitto *mosq, const char *id, bool clean_session, void *obj),
	(mosq, id, clean_session, obj))
CR_LAZY_FREE(cr_lazy_libmosquitto, mosquitto_destroy, struct mosquitto)
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_threaded_set, (struct mosquitto *mosq, bool threaded), (mosq, threaded))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_int_option, (struct mosquitto *mosq, enum mosq_opt_t option, int value),
	(mosq, option, value))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_username_pw_set, (struct mosquitto *mosq, const char *username, const char *password),
	(mosq, username, password))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_tls_set,
	(struct mosquitto *mosq, const char *cafile, const char *capath, const char *certfile, const char *keyfile,
	 int (*pw_callback)(char *buf, int size, int rwflag, void *userdata)),
	(mosq, cafile, capath, certfile, keyfile, pw_callback))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_will_set_v5,
	(struct mosquitto *mosq, const char *topic, int payloadlen, const void *payload, int qos, bool retain,
	 mosquitto_property *properties),
	(mosq, topic, payloadlen, payload, qos, retain, properties))

/* callbacks */
CR_LAZY_VOID(cr_lazy_libmosquitto, mosquitto_connect_v5_callback_set,
	     (struct mosquitto *mosq, void (*on_connect)(struct mosquitto *, void *, int, int, const mosquitto_property *)),
	     (mosq, on_connect))
CR_LAZY_VOID(cr_lazy_libmosquitto, mosquitto_disconnect_v5_callback_set,
	     (struct mosquitto *mosq, void (*on_disconnect)(struct mosquitto *, void *, int, const mosquitto_property *)),
	     (mosq, on_disconnect))
CR_LAZY_VOID(cr_lazy_libmosquitto, mosquitto_publish_v5_callback_set,
	     (struct mosquitto *mosq, void (*on_publish)(struct mosquitto *, void *, int, int, const mosquitto_property *)),
	     (mosq, on_publish))
CR_LAZY_VOID(cr_lazy_libmosquitto, mosquitto_message_v5_callback_set,
	     (struct mosquitto *mosq, void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *,
							 const mosquitto_property *)),
	     (mosq, on_message))
CR_LAZY_VOID(cr_lazy_libmosquitto, mosquitto_log_callback_set,
	     (struct mosquitto *mosq, void (*on_log)(struct mosquitto *, void *, int, const char *)), (mosq, on_log))

/* the connection */
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_connect_bind_v5,
	(struct mosquitto *mosq, const char *host, int port, int keepalive, const char *bind_address,
	 const mosquitto_property *properties),
	(mosq, host, port, keepalive, bind_address, properties))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_disconnect_v5, (struct mosquitto *mosq, int reason_code, const mosquitto_property *properties),
	(mosq, reason_code, properties))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_socket, (struct mosquitto *mosq), (mosq))
CR_LAZY(cr_lazy_libmosquitto, bool, mosquitto_want_write, (struct mosquitto *mosq), (mosq))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_loop, (struct mosquitto *mosq, int timeout, int max_packets), (mosq, timeout, max_packets))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_loop_read, (struct mosquitto *mosq, int max_packets), (mosq, max_packets))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_loop_write, (struct mosquitto *mosq, int max_packets), (mosq, max_packets))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_loop_misc, (struct mosquitto *mosq), (mosq))

/* messages and their properties */
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_publish_v5,
	(struct mosquitto *mosq, int *mid, const char *topic, int payloadlen, const void *payload, int qos, bool retain,
	 const mosquitto_property *properties),
	(mosq, mid, topic, payloadlen, payload, qos, retain, properties))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_subscribe_v5,
	(struct mosquitto *mosq, int *mid, const char *sub, int qos, int options, const mosquitto_property *properties),
	(mosq, mid, sub, qos, options, properties))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_property_add_int32, (mosquitto_property **proplist, int identifier, uint32_t value),
	(proplist, identifier, value))
CR_LAZY(cr_lazy_libmosquitto, int, mosquitto_property_add_binary,
	(mosquitto_property **proplist, int identifier, const void *value, uint16_t len),
	(proplist, identifier, value, len))
CR_LAZY(cr_lazy_libmosquitto, const mosquitto_property *, mosquitto_property_read_string,
	(const mosquitto_property *proplist, int identifier, char **value, bool skip_first),
	(proplist, identifier, value, skip_first))
CR_LAZY(cr_lazy_libmosquitto, const mosquitto_property *, mosquitto_property_read_binary,
	(const mosquitto_property *proplist, int identifier, void **value, uint16_t *len, bool skip_first),
	(proplist, identifier, value, len, skip_first))
CR_LAZY_FREEP(cr_lazy_libmosquitto, mosquitto_property_free_all, mosquitto_property)
