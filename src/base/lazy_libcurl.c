/* libcurl, opened on first use (lazy.h says why and how): only ntfy,
 * uploads and the command-line client use it. */
#include "base/lazy.h"

#include <curl/curl.h>
#include <stdarg.h>

struct cr_lazy cr_lazy_libcurl = {
	.name = "libcurl",
	.soname = "libcurl.so.4", /* the ABI's soname since curl 7.16 */
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* The header makes curl_easy_setopt() and curl_easy_getinfo() macros (type
 * checks); the parentheses name the functions themselves. */

/* One argument follows the option; its type is the option's range
 * (curl.h, CURLOPTTYPE_*): a long, an object pointer, a function pointer,
 * a curl_off_t or a struct curl_blob pointer. It is passed on as read. */
CURLcode(curl_easy_setopt)(CURL *curl, CURLoption option, ...)
{
	CR_LAZY_BIND(cr_lazy_libcurl, curl_easy_setopt)
	CURLcode ret;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		ret = f(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		ret = f(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		ret = f(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		ret = f(curl, option, va_arg(ap, curl_off_t));
	else
		ret = f(curl, option, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

/* Every CURLINFO_* takes a pointer to where its value goes. */
CURLcode(curl_easy_getinfo)(CURL *curl, CURLINFO info, ...)
{
	CR_LAZY_BIND(cr_lazy_libcurl, curl_easy_getinfo)
	CURLcode ret;
	va_list ap;

	va_start(ap, info);
	ret = f(curl, info, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

/* Only a process that used libcurl cleans it up. */
void curl_global_cleanup(void)
{
	if (!cr_lazy_is_open(&cr_lazy_libcurl))
		return;
	CR_LAZY_BIND(cr_lazy_libcurl, curl_global_cleanup)
	f();
}

CR_LAZY(cr_lazy_libcurl, CURLcode, curl_global_init, (long flags), (flags))
CR_LAZY(cr_lazy_libcurl, curl_version_info_data *, curl_version_info, (CURLversion age), (age))
CR_LAZY(cr_lazy_libcurl, const char *, curl_easy_strerror, (CURLcode code), (code))
CR_LAZY_VOID(cr_lazy_libcurl, curl_free, (void *p), (p))

/* easy handles */
CR_LAZY(cr_lazy_libcurl, CURL *, curl_easy_init, (void), ())
CR_LAZY(cr_lazy_libcurl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
CR_LAZY_FREE(cr_lazy_libcurl, curl_easy_cleanup, CURL)

/* header lists */
CR_LAZY(cr_lazy_libcurl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data),
	(list, data))
CR_LAZY_FREE(cr_lazy_libcurl, curl_slist_free_all, struct curl_slist)

/* multi handles */
CR_LAZY(cr_lazy_libcurl, CURLM *, curl_multi_init, (void), ())
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_add_handle, (CURLM *multi, CURL *easy), (multi, easy))
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_remove_handle, (CURLM *multi, CURL *easy), (multi, easy))
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_perform, (CURLM *multi, int *running), (multi, running))
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_poll,
	(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms, int *ret),
	(multi, extra_fds, extra_nfds, timeout_ms, ret))
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_wakeup, (CURLM *multi), (multi))
CR_LAZY(cr_lazy_libcurl, CURLMsg *, curl_multi_info_read, (CURLM *multi, int *msgs_in_queue), (multi, msgs_in_queue))
CR_LAZY(cr_lazy_libcurl, CURLMcode, curl_multi_cleanup, (CURLM *multi), (multi))

/* URLs */
CR_LAZY(cr_lazy_libcurl, CURLU *, curl_url, (void), ())
CR_LAZY(cr_lazy_libcurl, CURLUcode, curl_url_set, (CURLU *url, CURLUPart what, const char *part, unsigned int flags),
	(url, what, part, flags))
CR_LAZY(cr_lazy_libcurl, CURLUcode, curl_url_get, (CURLU *url, CURLUPart what, char **part, unsigned int flags),
	(url, what, part, flags))
CR_LAZY_FREE(cr_lazy_libcurl, curl_url_cleanup, CURLU)

/* MIME forms */
CR_LAZY(cr_lazy_libcurl, curl_mime *, curl_mime_init, (CURL *easy), (easy))
CR_LAZY(cr_lazy_libcurl, curl_mimepart *, curl_mime_addpart, (curl_mime *mime), (mime))
CR_LAZY(cr_lazy_libcurl, CURLcode, curl_mime_name, (curl_mimepart *part, const char *name), (part, name))
CR_LAZY(cr_lazy_libcurl, CURLcode, curl_mime_filename, (curl_mimepart *part, const char *filename), (part, filename))
CR_LAZY(cr_lazy_libcurl, CURLcode, curl_mime_type, (curl_mimepart *part, const char *type), (part, type))
CR_LAZY(cr_lazy_libcurl, CURLcode, curl_mime_data, (curl_mimepart *part, const char *data, size_t size),
	(part, data, size))
CR_LAZY_FREE(cr_lazy_libcurl, curl_mime_free, curl_mime)
