package node

import (
	"reflect"
	"testing"
)

// TestConfigSplit: every field of Config belongs to a component's
// configuration (same name and type), or is one of the node's own, and
// Swarm, Serve and Entry copy it there.
func TestConfigSplit(t *testing.T) {
	own := map[string]bool{
		"Logger": true, "Store": true, "RebalanceInterval": true, "RebalanceThreshold": true,
		"OnTransfer": true, "Clock": true, "Metrics": true, "Version": true, "IOTimeout": true,
	}
	c := Config{}
	cv := reflect.ValueOf(&c).Elem()
	// Fill every settable field with a non-zero value.
	for i := range cv.NumField() {
		f := cv.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		}
	}
	parts := []reflect.Value{reflect.ValueOf(c.Swarm()), reflect.ValueOf(c.Serve()), reflect.ValueOf(c.Entry())}
	ct := cv.Type()
	for i := range ct.NumField() {
		name := ct.Field(i).Name
		found := 0
		for _, p := range parts {
			pf, ok := p.Type().FieldByName(name)
			if !ok {
				continue
			}
			found++
			if pf.Type != ct.Field(i).Type {
				t.Errorf("%s.%s is %v, Config's is %v", p.Type().Name(), name, pf.Type, ct.Field(i).Type)
				continue
			}
			if ct.Field(i).IsExported() && !reflect.DeepEqual(p.FieldByName(name).Interface(), cv.Field(i).Interface()) {
				t.Errorf("%s.%s = %v, Config has %v", p.Type().Name(), name, p.FieldByName(name), cv.Field(i))
			}
		}
		if found == 0 && !own[name] {
			t.Errorf("Config.%s is in no component's configuration and not the node's own", name)
		}
	}
	if c.Swarm().reachability != c.reachability {
		t.Error("Swarm() drops reachability")
	}
}
