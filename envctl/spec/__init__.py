"""Environment specs: the strict model, YAML reading, `extends`, the project file and policy.

`model` is the spec itself (pure), `yamldoc` the bounded YAML reader that keeps
every value's position, `validation` turns a document into a model or one error
listing every problem, `loading` finds the project and resolves `extends` and
`ENV@REV`, `project_file` is `envctl.yaml`, `policy` applies project policy,
`values` holds the validated scalars that may reach a Dockerfile, `imports`
reads existing pin files (requirements, conda, pyproject, uv.lock) into a spec.
"""
