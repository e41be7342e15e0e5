/* Sensors (telemetry/telemetry.c) against a sysfs tree made here: the IIO
 * ABI's rule value = (raw + offset) x scale with the channel's or its
 * type's attributes, _input before _raw, a device found by its name or its
 * directory, milli-units turned into base units, hwmon inputs, and a
 * failing read reported and recovered from. The file is included to point
 * its sysfs root at the tree. */
#include "../../src/telemetry/telemetry.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

static char tmpdir[] = "/tmp/test_telemetry.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	sysfs_root = tmpdir;
	put("bus/iio/devices/iio:device0/name", "dht11\n");
	put("bus/iio/devices/iio:device0/in_temp_input", "21500\n");
	put("bus/iio/devices/iio:device0/in_humidityrelative_input", "40300\n");
	put("bus/iio/devices/iio:device1/name", "adc\n");
	put("bus/iio/devices/iio:device1/in_voltage0_raw", "73\n");
	put("bus/iio/devices/iio:device1/in_voltage0_offset", "7\n");
	put("bus/iio/devices/iio:device1/in_voltage_scale", "0.5\n");     /* shared by the type */
	put("bus/iio/devices/iio:device1/in_voltage1_raw", "10\n");
	put("bus/iio/devices/iio:device1/in_voltage1_scale", "2\n");      /* the channel's own wins */
	put("class/hwmon/hwmon0/name", "pwmfan\n");
	put("class/hwmon/hwmon0/fan1_input", "1200\n");
	put("class/hwmon/hwmon3/name", "cpu_thermal\n");
	put("class/hwmon/hwmon3/temp1_input", "48250\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct cr_sensor_reading read_one(const char *spec)
{
	struct cr_sensor_reading r = { 0 };

	assert_int_equal(cr_config_sensor_parse(spec, &r.spec), 0);
	read_sensors(&r, 1);
	return r;
}

static void test_iio(void **state)
{
	struct cr_sensor_reading r = read_one("box=iio:dht11/temp");

	assert_true(r.valid && !r.failing);
	assert_float_equal(r.value, 21.5, 1e-9);
	assert_string_equal(r.unit, "celsius");
	r = read_one("rh=iio:dht11/humidityrelative");
	assert_float_equal(r.value, 40.3, 1e-9);
	assert_string_equal(r.unit, "percent");
	/* (73 + 7) x 0.5 = 40 mV */
	r = read_one("v0=iio:adc/voltage0");
	assert_true(r.valid);
	assert_float_equal(r.value, 0.040, 1e-12);
	assert_string_equal(r.unit, "volts");
	/* by its directory; the channel's own scale: 10 x 2 = 20 mV */
	r = read_one("v1=iio:iio:device1/voltage1");
	assert_float_equal(r.value, 0.020, 1e-12);
}

static void test_hwmon(void **state)
{
	struct cr_sensor_reading r = read_one("fan=hwmon:pwmfan/fan1");

	assert_float_equal(r.value, 1200, 1e-9);
	assert_string_equal(r.unit, "rpm");
	r = read_one("soc=hwmon:hwmon3/temp1");
	assert_float_equal(r.value, 48.25, 1e-9);
	assert_string_equal(r.unit, "celsius");
}

static void test_failures(void **state)
{
	struct cr_sensor_reading r = read_one("x=iio:nope/temp");

	assert_false(r.valid);
	assert_true(r.failing);
	assert_int_equal(r.errors, 1);
	assert_non_null(strstr(r.error, "no IIO device nope"));
	r = read_one("y=iio:dht11/pressure");
	assert_true(r.failing);
	assert_non_null(strstr(r.error, "no channel pressure"));
	/* A read that fails, then works again: the value stays, the error goes. */
	r = read_one("box=iio:dht11/temp");
	put("bus/iio/devices/iio:device0/in_temp_input", "garbage\n");
	read_sensors(&r, 1);
	assert_true(r.failing && r.valid);
	assert_float_equal(r.value, 21.5, 1e-9);
	assert_int_equal(r.errors, 1);
	put("bus/iio/devices/iio:device0/in_temp_input", "22000\n");
	read_sensors(&r, 1);
	assert_false(r.failing);
	assert_string_equal(r.error, "");
	assert_float_equal(r.value, 22.0, 1e-9);
	assert_int_equal(r.reads, 2);
}

static void test_specs(void **state)
{
	struct cr_sensor_spec sp;

	assert_int_equal(cr_config_sensor_parse("a=iio:iio:device0/voltage0", &sp), 0);
	assert_string_equal(sp.device, "iio:device0");
	assert_string_equal(sp.channel, "voltage0");
	assert_int_equal(cr_config_sensor_parse("a=hwmon:pwmfan/fan1", &sp), 0);
	assert_int_equal(sp.kind, CR_SENSOR_HWMON);
	assert_int_equal(cr_config_sensor_parse("a=spi:x/y", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("=iio:x/y", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("a=iio:x", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("a=iio:x/", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("a b=iio:x/y", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("a=iio:../x/y", &sp), -EINVAL); /* no way out of sysfs */
	assert_int_equal(cr_config_sensor_parse("a=iio:../y", &sp), -EINVAL);
	assert_int_equal(cr_config_sensor_parse("a=iio:x/.y", &sp), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iio),
		cmocka_unit_test(test_hwmon),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_specs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
