/* Control values of the libcamera module (libcamera_internal.h): parsing a
 * value for a control by its type, describing what is valid, and a control
 * as camrig's list_controls shows it. Reference: libcamera's controls.h and
 * control_ids.yaml. */
#include "source/libcamera_internal.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

namespace cr_lc {

/* ---- control values --------------------------------------------------------
 * Parsing a value for a control by its type, and describing what is valid. */

/* Elements of an array control, 1 for a scalar, 0 for an array of any length. */
size_t control_elements(const ControlId *id)
{
#if LC_AT_LEAST(0, 4)
	return id->isArray() ? id->size() : 1;
#else
	/* 0.0.x's ControlId does not say; these are its array controls. */
	if (id->id() == controls::FrameDurationLimits.id() || id->id() == controls::ColourGains.id())
		return 2;
	if (id->id() == controls::SensorBlackLevels.id())
		return 4;
	if (id->id() == controls::ColourCorrectionMatrix.id())
		return 9;
	if (id->id() == controls::AfWindows.id())
		return 0;
	return 1;
#endif
}

/* The name of an enum control's value (0.4+), or "". */
static std::string enum_name(const ControlId *id, int32_t v)
{
#if LC_AT_LEAST(0, 4)
	auto it = id->enumerators().find(v);

	if (it != id->enumerators().end())
		return it->second;
#else
	(void)id;
	(void)v;
#endif
	return "";
}

std::string type_name(ControlType t)
{
	switch (t) {
	case ControlTypeBool: return "bool";
	case ControlTypeByte: return "byte";
	case ControlTypeInteger32: return "int32";
	case ControlTypeInteger64: return "int64";
	case ControlTypeFloat: return "float";
	case ControlTypeString: return "string";
	case ControlTypeRectangle: return "rectangle";
	case ControlTypeSize: return "size";
	default: return "other";
	}
}

/* What values a control takes, for messages and `camrig list`:
 * "-1..1 (default 0)", "one of: 0 \"Manual\", 1 \"Auto\"", "true or false". */
std::string describe(const ControlId *id, const ControlInfo &info)
{
	std::string s;

	if (id->type() == ControlTypeBool)
		return "true or false";
	if (!info.values().empty() && id->type() == ControlTypeInteger32) {
		std::string list;

		for (const ControlValue &v : info.values()) {
			int32_t i = v.get<int32_t>();
			std::string name = enum_name(id, i);

			list_add(list, name.empty() ? strprintf("%d", i) : strprintf("%d \"%s\"", i, name.c_str()));
		}
		return "one of: " + list;
	}
	if (id->type() == ControlTypeRectangle)
		s = "x,y,width,height within " + info.max().toString();
	else if (id->type() == ControlTypeSize)
		s = "WIDTHxHEIGHT, " + info.min().toString() + ".." + info.max().toString();
	else
		s = info.min().toString() + ".." + info.max().toString();
	size_t n = control_elements(id);
	if (n != 1)
		s = (n ? strprintf("%zu", n) : std::string("a list of")) + " comma-separated values, each " + s;
	if (!info.def().isNone())
		s += " (default " + info.def().toString() + ")";
	return s;
}

static bool parse_bool(const std::string &t, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(t.c_str(), yes[i]) == 0 || strcasecmp(t.c_str(), no[i]) == 0) {
			*out = strcasecmp(t.c_str(), yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static bool parse_int(const std::string &t, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(t.c_str(), &end, 0);
	if (errno || end == t.c_str() || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_float(const std::string &t, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(t.c_str(), &end);
	if (errno || end == t.c_str() || *end || !std::isfinite(v))
		return false;
	*out = v;
	return true;
}

static std::vector<std::string> split(const std::string &t, char sep)
{
	std::vector<std::string> parts;
	std::string cur;

	for (char c : t) {
		if (c == sep) {
			parts.push_back(cur);
			cur.clear();
		} else if (c != ' ') {
			cur += c;
		}
	}
	parts.push_back(cur);
	return parts;
}

/* One element of a scalar type, range-checked against info. */
static bool parse_scalar(const ControlId *id, const ControlInfo &info, const std::string &t, ControlValue *out)
{
	int64_t i;
	double d;
	bool b;

	switch (id->type()) {
	case ControlTypeBool:
		if (!parse_bool(t, &b))
			return false;
		*out = ControlValue(b);
		return true;
	case ControlTypeByte:
	case ControlTypeInteger32:
	case ControlTypeInteger64: {
		if (!parse_int(t, &i)) {
			/* An enum value by its name (0.4+), case and '_' ignored. */
			bool found = false;

			for (const ControlValue &v : info.values())
				if (id->type() == ControlTypeInteger32 &&
				    control_key(enum_name(id, v.get<int32_t>())) == control_key(t) && !control_key(t).empty()) {
					i = v.get<int32_t>();
					found = true;
				}
			if (!found)
				return false;
		}
		if (!info.values().empty()) {
			bool ok = false;

			for (const ControlValue &v : info.values())
				ok = ok || (id->type() == ControlTypeInteger32 ? v.get<int32_t>() == i : v.toString() == t);
			if (!ok)
				return false;
		}
		if (id->type() == ControlTypeInteger32) {
			if (i < INT32_MIN || i > INT32_MAX ||
			    (!info.min().isNone() && info.min().type() == ControlTypeInteger32 && i < info.min().get<int32_t>()) ||
			    (!info.max().isNone() && info.max().type() == ControlTypeInteger32 && i > info.max().get<int32_t>()))
				return false;
			*out = ControlValue((int32_t)i);
		} else if (id->type() == ControlTypeInteger64) {
			if ((!info.min().isNone() && info.min().type() == ControlTypeInteger64 && i < info.min().get<int64_t>()) ||
			    (!info.max().isNone() && info.max().type() == ControlTypeInteger64 && i > info.max().get<int64_t>()))
				return false;
			*out = ControlValue((int64_t)i);
		} else {
			if (i < 0 || i > 255)
				return false;
			*out = ControlValue((uint8_t)i);
		}
		return true;
	}
	case ControlTypeFloat:
		if (!parse_float(t, &d))
			return false;
		if ((!info.min().isNone() && info.min().type() == ControlTypeFloat && d < info.min().get<float>()) ||
		    (!info.max().isNone() && info.max().type() == ControlTypeFloat && d > info.max().get<float>()))
			return false;
		*out = ControlValue((float)d);
		return true;
	case ControlTypeRectangle: {
		std::vector<std::string> p = split(t, ',');
		int64_t v[4];

		if (p.size() != 4)
			return false;
		for (int k = 0; k < 4; k++)
			if (!parse_int(p[k], &v[k]) || v[k] < 0 || v[k] > 65535)
				return false;
		Rectangle r((int)v[0], (int)v[1], (unsigned)v[2], (unsigned)v[3]);
		if (!info.max().isNone() && info.max().type() == ControlTypeRectangle) {
			Rectangle bounds = info.max().get<Rectangle>();
			/* ScalerCrop's max is the sensor's whole output, in its own coordinates. */
			if (r.width == 0 || r.height == 0 || r.x + (int64_t)r.width > bounds.x + (int64_t)bounds.width ||
			    r.y + (int64_t)r.height > bounds.y + (int64_t)bounds.height)
				return false;
		}
		*out = ControlValue(r);
		return true;
	}
	case ControlTypeSize: {
		unsigned w, h;
		char end;

		if (sscanf(t.c_str(), "%ux%u%c", &w, &h, &end) != 2)
			return false;
		*out = ControlValue(Size(w, h));
		return true;
	}
	default:
		return false;
	}
}

/* Parses text for the control id. Returns 0, or -EINVAL with *why. */
int parse_control(const ControlId *id, const ControlInfo &info, const std::string &text, ControlValue *out,
		  std::string *why)
{
	size_t n = control_elements(id);

	*why = "expected " + describe(id, info);
	if (n == 1)
		return parse_scalar(id, info, text, out) ? 0 : -EINVAL;
	std::vector<std::string> parts = split(text, ',');
	if ((n && parts.size() != n) || parts.empty())
		return -EINVAL;
	std::vector<ControlValue> elems(parts.size());
	for (size_t k = 0; k < parts.size(); k++)
		if (!parse_scalar(id, info, parts[k], &elems[k]))
			return -EINVAL;
	switch (id->type()) {
	case ControlTypeFloat: {
		std::vector<float> v;
		for (auto &e : elems)
			v.push_back(e.get<float>());
		out->set(Span<const float>(v));
		return 0;
	}
	case ControlTypeInteger32: {
		std::vector<int32_t> v;
		for (auto &e : elems)
			v.push_back(e.get<int32_t>());
		out->set(Span<const int32_t>(v));
		return 0;
	}
	case ControlTypeInteger64: {
		std::vector<int64_t> v;
		for (auto &e : elems)
			v.push_back(e.get<int64_t>());
		out->set(Span<const int64_t>(v));
		return 0;
	}
	default:
		*why = "an array of " + type_name(id->type()) + " cannot be set from camrig";
		return -EINVAL;
	}
}

/* Finds the camera's control named name. Returns the entry, or end() with
 * *names listing the controls there are. */
ControlInfoMap::const_iterator find_control(const ControlInfoMap &map, const std::string &name, std::string *names)
{
	std::string key = control_key(name);
	std::vector<std::string> all;

	for (auto it = map.begin(); it != map.end(); ++it) {
		if (control_key(it->first->name()) == key)
			return it;
		all.push_back(it->first->name());
	}
	std::sort(all.begin(), all.end());
	for (const std::string &s : all)
		list_add(*names, s);
	return map.end();
}

/* Describes one control as camrig's list_controls does, with value (its
 * latest known, or None). */
void describe_control(const ControlId *id, const ControlInfo &info, const ControlValue *value,
		      struct cr_source_control *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", id->name().c_str());
	snprintf(c->label, sizeof(c->label), "%s", id->name().c_str());
	bool scalar = control_elements(id) == 1 && (!value || !value->isArray());
	auto integer = [](const ControlValue &v) -> int64_t {
		if (v.type() == ControlTypeInteger32 && !v.isArray())
			return v.get<int32_t>();
		if (v.type() == ControlTypeInteger64 && !v.isArray())
			return v.get<int64_t>();
		if (v.type() == ControlTypeBool && !v.isArray())
			return v.get<bool>();
		if (v.type() == ControlTypeByte && !v.isArray())
			return v.get<uint8_t>();
		return 0;
	};
	bool known = value && !value->isNone();

	if (scalar && id->type() == ControlTypeBool) {
		c->type = CR_CONTROL_BOOL;
		c->min = 0;
		c->max = c->step = 1;
		c->def = info.def().isNone() ? 0 : integer(info.def());
	} else if (scalar && id->type() == ControlTypeInteger32 && !info.values().empty()) {
		c->type = CR_CONTROL_MENU;
		for (const ControlValue &v : info.values()) {
			if (c->nitems >= CR_SOURCE_MENU_MAX)
				break;
			int32_t i = v.get<int32_t>();
			std::string name = enum_name(id, i);

			c->items[c->nitems].index = i;
			snprintf(c->items[c->nitems].name, sizeof(c->items[0].name), "%s",
				 name.empty() ? strprintf("%d", i).c_str() : name.c_str());
			c->nitems++;
		}
		c->min = c->nitems ? c->items[0].index : 0;
		c->max = c->nitems ? c->items[c->nitems - 1].index : 0;
		c->step = 1;
		c->def = info.def().isNone() ? c->min : integer(info.def());
	} else if (scalar && (id->type() == ControlTypeInteger32 || id->type() == ControlTypeInteger64 ||
			      id->type() == ControlTypeByte)) {
		c->type = id->type() == ControlTypeInteger64 ? CR_CONTROL_INT64 : CR_CONTROL_INT;
		c->min = info.min().isNone() ? 0 : integer(info.min());
		c->max = info.max().isNone() ? 0 : integer(info.max());
		c->step = 1;
		c->def = info.def().isNone() ? c->min : integer(info.def());
	} else if (scalar && id->type() == ControlTypeFloat) {
		c->type = CR_CONTROL_FLOAT;
		c->real.min = info.min().type() == ControlTypeFloat ? info.min().get<float>() : 0;
		c->real.max = info.max().type() == ControlTypeFloat ? info.max().get<float>() : 0;
		c->real.def = info.def().type() == ControlTypeFloat ? info.def().get<float>() : c->real.min;
		if (known && value->type() == ControlTypeFloat) {
			c->real.value = value->get<float>();
			c->has_value = true;
		}
		return;
	} else {
		c->type = CR_CONTROL_COMPOUND;
		snprintf(c->values, sizeof(c->values), "%s: %s", type_name(id->type()).c_str(),
			 describe(id, info).c_str());
		if (known) {
			/* ControlValue's text ("(0, 0)/1456x1088", "[ 33333, 33333 ]") as set_control takes it:
			 * the numbers, comma-separated. */
			std::string t, all = value->toString();
			bool in_number = false;

			for (char ch : all) {
				bool digit = isdigit((unsigned char)ch) || ch == '.' || ch == '-';

				if (digit && !in_number && !t.empty())
					t += ',';
				if (digit)
					t += ch;
				in_number = digit;
			}
			snprintf(c->text, sizeof(c->text), "%s", value->type() == ControlTypeString ? all.c_str() : t.c_str());
			c->has_value = true;
		}
		return;
	}
	if (known) {
		c->value = integer(*value);
		c->has_value = true;
	}
}

} /* namespace cr_lc */
