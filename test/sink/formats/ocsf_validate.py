"""Validate OCSF records (one JSON object per line on stdin) against the published OCSF schema
as shipped by PyPI `pydantic-ocsf` (OCSF 1.7.0 models and schema JSON, the newest release on the
registry). Each record is validated by the class model its class_uid names (types, required fields,
enum values), and every key is checked to be an attribute the schema declares for that class or
object, since the models accept extra keys. A key outside the class is accepted only when the
record declares profiles (metadata.profiles) and the key is an attribute of the schema's dictionary
(whose enum, if any, the value must be in). status_id is checked against the schema JSON's
dictionary enum instead of the models: pydantic-ocsf 3.0.0 generates File/Process Activity with
another class's status enum, while the schema (base_event, not overridden) has 0/1/2/99. Keys in ALLOWED_1_8 are the OCSF 1.8 ai_operation
profile (newer than any schema on PyPI) and are reported separately, not as errors.
Prints one JSON line: {"records": N, "errors": [...], "profile_1_8": [...]}."""
import json
import sys
import typing
from importlib import resources

from pydantic import BaseModel, ValidationError
from ocsf.v1_7_0 import events

ALLOWED_1_8 = {"ai_model", "message_context"}

schema = json.loads(resources.files("ocsf").joinpath("schemas/v1_7_0.json").read_text())
category_uid = {k: v["uid"] for k, v in schema["categories_meta"]["attributes"].items()}


def category_of(ev):
    """A class's category: its own, or the one of the class it extends (source-format schema)."""
    while ev is not None:
        if ev.get("category") in category_uid:
            return category_uid[ev["category"]]
        ev = schema["events"].get(ev.get("extends"))
    return None


by_uid = {}
for key, ev in schema["events"].items():
    cat = category_of(ev)
    if "uid" not in ev or cat is None:
        continue
    cls = getattr(events, "".join(p.capitalize() for p in key.split("_")), None)
    if cls is not None:
        by_uid[cat * 1000 + ev["uid"]] = cls


def model_of(annotation):
    """The pydantic model inside Optional[...] / list[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        m = model_of(arg)
        if m is not None:
            return m
    return None


def unknown_keys(model, value, path):
    out = []
    if isinstance(value, list):
        for v in value:
            out += unknown_keys(model, v, path + "[]")
        return out
    if not isinstance(value, dict):
        return out
    fields = {}
    for name, f in model.model_fields.items():
        fields[f.alias or name] = f
        fields[name] = f
    for k, v in value.items():
        if k not in fields:
            out.append(f"{path}{k}")
            continue
        sub = model_of(fields[k].annotation)
        # unmapped is the schema's free-form object: anything goes there by design.
        if sub is not None and k != "unmapped":
            out += unknown_keys(sub, v, f"{path}{k}.")
    return out


dictionary = schema["dictionary"]["attributes"]


def dictionary_error(key, value):
    """None when key is a dictionary attribute and value is in its enum (if it has one)."""
    a = dictionary.get(key)
    if a is None:
        return f"{key}: not an OCSF 1.7.0 attribute"
    if "enum" in a and isinstance(value, int) and str(value) not in a["enum"]:
        return f"{key}={value}: not in the OCSF enum"
    return None


records, errors, profile, outside = 0, [], set(), set()
for line in sys.stdin:
    if not line.strip():
        continue
    records += 1
    rec = json.loads(line)
    cls = by_uid.get(rec.get("class_uid"))
    uid = rec.get("metadata", {}).get("uid")
    if cls is None:
        errors.append({"uid": uid, "error": f"class_uid {rec.get('class_uid')} is not an OCSF 1.7.0 class"})
        continue
    core = {k: v for k, v in rec.items() if k not in ALLOWED_1_8 and k != "status_id"}
    profile.update(k for k in rec if k in ALLOWED_1_8)
    if "status_id" in rec and (e := dictionary_error("status_id", rec["status_id"])):
        errors.append({"uid": uid, "error": e})
    declared = rec.get("metadata", {}).get("profiles") or []
    for k in [k for k in core if k not in cls.model_fields]:
        e = dictionary_error(k, core[k]) if declared else f"{k}: not an attribute of {cls.__name__} and no profile declared"
        if e:
            errors.append({"uid": uid, "class": cls.__name__, "error": e})
        else:
            outside.add(f"{cls.__name__}.{k}")
        del core[k]
    try:
        cls.model_validate(core)
    except ValidationError as e:
        for err in e.errors():
            errors.append({"uid": uid, "class": cls.__name__, "error": f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"})
    for k in unknown_keys(cls, core, ""):
        errors.append({"uid": uid, "class": cls.__name__, "error": f"{k}: not an attribute of {cls.__name__} in OCSF 1.7.0"})
    if rec.get("type_uid") != rec.get("class_uid", 0) * 100 + rec.get("activity_id", -1):
        errors.append({"uid": uid, "error": "type_uid is not class_uid*100+activity_id"})

print(json.dumps({"records": records, "errors": errors, "profile_1_8": sorted(profile), "profile_attributes": sorted(outside)}))
