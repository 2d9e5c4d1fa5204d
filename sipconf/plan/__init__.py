"""Plan and apply: everything decided about the live project. The flow goes one way: this
package calls sipconf.livekit to read and to write, and that package never calls back.

`inventory` classifies what was read (ownership, drift digests, the live checksum);
`canonical` puts live and desired objects in one comparable form; `diff` compares them into
Create/Update/Delete values (`changes`, `elements`), named and valued as the spec writes them
(`spec_fields`, numbers as `ranges`); `impact` is the route impact, called by representative
`callers`; `plan` the Plan value, `secrets` its keyed checksum of secrets; `labels` and
`render` show it; `saved` saved plans; `engine` applies a plan; `lock` locks applies;
`workflow` strings read, plan and apply together for the commands; `importer` and `to_spec`
write a spec from the live project (`sipconf import`).
"""
