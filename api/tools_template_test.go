package api

import (
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// Templates written with the tool constructs of each family's own: tools
// as tojson'ed {"type": "function", "function": ...} objects, assistant
// tool_calls with arguments | tojson, tool messages (Qwen's grouped
// <tool_response> blocks, Llama 3.1's ipython role, Mistral's
// [TOOL_RESULTS] with call ids), and Qwen3's enable_thinking switch.
const (
	qwen25ToolsJinja = `{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}{%- endif %}` +
		`{{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}` +
		`{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}` +
		`{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}` +
		`{%- else %}{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}{%- endif %}` +
		`{%- for message in messages %}{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}` +
		`{%- elif message.role == "assistant" %}{{- '<|im_start|>' + message.role }}{%- if message.content %}{{- '\n' + message.content }}{%- endif %}` +
		`{%- for tool_call in message.tool_calls %}{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}` +
		`{{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}{%- endfor %}{{- '<|im_end|>\n' }}` +
		`{%- elif message.role == "tool" %}{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}` +
		`{{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}{%- endif %}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`
	qwen3ToolsJinja = `{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0].role == 'system' %}{{- messages[0].content + '\n\n' }}{%- endif %}` +
		`{{- "# Tools\n\n<tools>" }}{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}{{- "\n</tools><|im_end|>\n" }}` +
		`{%- elif messages[0].role == 'system' %}{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}{%- endif %}` +
		`{%- for message in messages %}{%- if message.role == "user" %}{{- '<|im_start|>user\n' + message.content + '<|im_end|>\n' }}` +
		`{%- elif message.role == "assistant" %}{%- set content = message.content %}{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\n') %}{%- endif %}` +
		`{{- '<|im_start|>assistant\n' + content }}{%- if message.tool_calls %}{%- for tool_call in message.tool_calls %}{%- if (loop.first and content) or (not loop.first) %}{{- '\n' }}{%- endif %}` +
		`{%- if tool_call.function %}{%- set tool_call = tool_call.function %}{%- endif %}{{- '<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}` +
		`{%- if tool_call.arguments is string %}{{- tool_call.arguments }}{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}{{- '}\n</tool_call>' }}{%- endfor %}{%- endif %}{{- '<|im_end|>\n' }}` +
		`{%- elif message.role == "tool" %}{%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}` +
		`{{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}{%- endif %}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}{%- endif %}{%- endif %}`
	llama31ToolsJinja = `{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = "" %}{%- endif %}` +
		`{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}{%- if tools is not none %}{{- "Environment: ipython\n" }}{%- endif %}{{- "Cutting Knowledge Date: December 2023\n\n" }}{{- system_message }}{{- "<|eot_id|>" }}` +
		`{%- if tools is not none %}{%- set first_user_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}` +
		`{{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}{{- "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n" }}` +
		`{{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}{{- "Do not use variables.\n\n" }}` +
		`{%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\n\n" }}{%- endfor %}{{- first_user_message + "<|eot_id|>"}}{%- endif %}` +
		`{%- for message in messages %}{%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}` +
		`{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}` +
		`{%- elif 'tool_calls' in message %}{%- set tool_call = message.tool_calls[0].function %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}` +
		`{{- '{"name": "' + tool_call.name + '", ' }}{{- '"parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}{{- "<|eot_id|>" }}` +
		`{%- elif message.role == "tool" or message.role == "ipython" %}{{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}{{- message.content }}{{- "<|eot_id|>" }}{%- endif %}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}`
	mistralToolsJinja = `{%- if messages[0]["role"] == "system" %}{%- set system_message = messages[0]["content"] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}` +
		`{%- if not tools is defined %}{%- set tools = none %}{%- endif %}{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}{{- bos_token }}` +
		`{%- for message in loop_messages %}{%- if message["role"] == "user" %}{%- if tools is not none and (message == user_messages[-1]) %}{{- "[AVAILABLE_TOOLS] [" }}` +
		`{%- for tool in tools %}{%- set tool = tool.function %}{{- '{"type": "function", "function": {' }}{%- for key, val in tool.items() if key != "return" %}{%- if val is string %}{{- '"' + key + '": "' + val + '"' }}{%- else %}{{- '"' + key + '": ' + val|tojson }}{%- endif %}{%- if not loop.last %}{{- ", " }}{%- endif %}{%- endfor %}{{- "}}" }}` +
		`{%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" }}{%- endif %}{%- endfor %}{{- "[/AVAILABLE_TOOLS]" }}{%- endif %}` +
		`{%- if loop.last and system_message is defined %}{{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}{%- else %}{{- "[INST] " + message["content"] + "[/INST]" }}{%- endif %}` +
		`{%- elif message.tool_calls is defined and message.tool_calls is not none %}{{- "[TOOL_CALLS] [" }}{%- for tool_call in message.tool_calls %}{%- set out = tool_call.function|tojson %}{{- out[:-1] }}` +
		`{%- if not tool_call.id is defined or tool_call.id|length != 9 %}{{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}{%- endif %}{{- ', "id": "' + tool_call.id + '"}' }}` +
		`{%- if not loop.last %}{{- ", " }}{%- else %}{{- "]" + eos_token }}{%- endif %}{%- endfor %}` +
		`{%- elif message["role"] == "assistant" %}{{- " " + message["content"]|trim + eos_token}}` +
		`{%- elif message["role"] == "tool_results" or message["role"] == "tool" %}{%- if message.content is defined and message.content.content is defined %}{%- set content = message.content.content %}{%- else %}{%- set content = message.content %}{%- endif %}` +
		`{{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}{{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}` +
		`{%- else %}{{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}{%- endif %}{%- endfor %}`
)

var weatherTool = Tool{Type: "function", Function: ToolFunction{Name: "get_weather", Description: "Weather of a city",
	Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}

func TestJinjaTools(t *testing.T) {
	conv := func(id string) []ChatMessage {
		return []ChatMessage{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Weather in Paris?"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: id, Type: "function", Function: ToolCallFunction{Name: "get_weather", Arguments: `{"city": "Paris"}`}}}},
			{Role: "tool", ToolCallID: id, Name: "get_weather", Content: `{"temp": 21}`},
		}
	}
	for _, tc := range []struct {
		name, src string
		msgs      []ChatMessage
		opt       RenderOptions
		want      string
	}{
		{"qwen2.5", qwen25ToolsJinja, conv("call_1"), RenderOptions{Tools: []Tool{weatherTool}},
			"<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"function\": {\"description\": \"Weather of a city\", \"name\": \"get_weather\", \"parameters\": {\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}}, \"type\": \"function\"}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"},
		{"qwen3", qwen3ToolsJinja, conv("call_1"), RenderOptions{Tools: []Tool{weatherTool}, Kwargs: map[string]any{"enable_thinking": false}},
			"<|im_start|>system\nBe brief.\n\n# Tools\n\n<tools>\n{\"function\": {\"description\": \"Weather of a city\", \"name\": \"get_weather\", \"parameters\": {\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}}, \"type\": \"function\"}\n</tools><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{"llama3.1", llama31ToolsJinja, conv("call_1")[1:], RenderOptions{Tools: []Tool{weatherTool}},
			"<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n{\n    \"function\": {\n        \"description\": \"Weather of a city\",\n        \"name\": \"get_weather\",\n        \"parameters\": {\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\"\n                }\n            },\n            \"required\": [\n                \"city\"\n            ],\n            \"type\": \"object\"\n        }\n    },\n    \"type\": \"function\"\n}\n\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n{\"temp\": 21}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"mistral", mistralToolsJinja, conv("abcDEF123")[1:], RenderOptions{Tools: []Tool{weatherTool}},
			"[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"description\": \"Weather of a city\", \"name\": \"get_weather\", \"parameters\": {\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}}}][/AVAILABLE_TOOLS][INST] Weather in Paris?[/INST][TOOL_CALLS] [{\"arguments\": {\"city\": \"Paris\"}, \"name\": \"get_weather\", \"id\": \"abcDEF123\"}]</s>[TOOL_RESULTS] {\"content\": {\"temp\": 21}, \"call_id\": \"abcDEF123\"}[/TOOL_RESULTS]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := ChatTemplateFor(&tokenizer.Vocab{ChatTemplate: tc.src, Tokens: []string{"<unk>", "<s>", "</s>"}, BOS: 1, EOS: 2})
			if tmpl.jinja == nil {
				t.Fatal("the template did not compile or render")
			}
			text, lit, err := tmpl.RenderWith(tc.msgs, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.want {
				t.Fatalf("rendered\n%s\n%q\nwant\n%q", text, text, tc.want)
			}
			// The messages' text is literal, the template's is not.
			var got []string
			for _, r := range lit {
				got = append(got, text[r[0]:r[1]])
			}
			for _, m := range tc.msgs {
				if m.Content != "" && !strings.Contains(strings.Join(got, "\x00"), strings.TrimSpace(m.Content)) {
					t.Errorf("content %q is not among the literal ranges %q", m.Content, got)
				}
			}
		})
	}
}

// gptossToolsJinja is a gpt-oss style template: tools as a TypeScript-like
// namespace in a developer message, assistant calls as commentary
// messages to functions.NAME ending in <|call|>, tool results as messages
// from functions.NAME to the assistant.
const gptossToolsJinja = `{{- "<|start|>system<|message|>You are ChatGPT.\nReasoning: medium\n\n# Valid channels: analysis, commentary, final." }}` +
	`{%- if tools %}{{- "\nCalls to these tools must go to the commentary channel: 'functions'." }}{%- endif %}{{- "<|end|>" }}` +
	`{%- if tools %}{{- "<|start|>developer<|message|># Tools\n\n## functions\n\nnamespace functions {\n" }}` +
	`{%- for tool in tools %}{{- "\n// " + tool.function.description + "\ntype " + tool.function.name + " = (_: " + (tool.function.parameters | tojson) + ") => any;\n" }}{%- endfor %}` +
	`{{- "\n} // namespace functions<|end|>" }}{%- endif %}{%- set ns = namespace(last_tool="") %}` +
	`{%- for message in messages %}{%- if message.role == 'system' %}{{- "<|start|>developer<|message|># Instructions\n\n" + message.content + "<|end|>" }}` +
	`{%- elif message.role == 'assistant' and message.tool_calls %}{%- for tc in message.tool_calls %}{%- set ns.last_tool = tc.function.name %}` +
	`{{- "<|start|>assistant to=functions." + tc.function.name + "<|channel|>commentary json<|message|>" + (tc.function.arguments | tojson) + "<|call|>" }}{%- endfor %}` +
	`{%- elif message.role == 'assistant' %}{{- "<|start|>assistant<|channel|>final<|message|>" + message.content + "<|end|>" }}` +
	`{%- elif message.role == 'tool' %}{{- "<|start|>functions." + ns.last_tool + " to=assistant<|channel|>commentary<|message|>" + message.content + "<|end|>" }}` +
	`{%- else %}{{- "<|start|>" + message.role + "<|message|>" + message.content + "<|end|>" }}{%- endif %}{%- endfor %}` +
	`{%- if add_generation_prompt %}<|start|>assistant{%- endif %}`

func TestJinjaHarmonyTools(t *testing.T) {
	tmpl := ChatTemplateFor(&tokenizer.Vocab{ChatTemplate: gptossToolsJinja, Tokens: []string{"<unk>", "<s>", "</s>"}, BOS: 1, EOS: 2})
	if tmpl.jinja == nil || !isHarmony(tmpl.jinja.src) {
		t.Fatal("the template did not compile or render, or is not harmony")
	}
	msgs := []ChatMessage{
		{Role: "user", Content: "Weather in Paris?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: ToolCallFunction{Name: "get_weather", Arguments: `{"city": "Paris"}`}}}},
		{Role: "tool", ToolCallID: "c1", Content: `{"temp": 21}`},
	}
	text, _, err := tmpl.RenderWith(msgs, RenderOptions{Tools: []Tool{weatherTool}})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|start|>system<|message|>You are ChatGPT.\nReasoning: medium\n\n# Valid channels: analysis, commentary, final.\nCalls to these tools must go to the commentary channel: 'functions'.<|end|>" +
		"<|start|>developer<|message|># Tools\n\n## functions\n\nnamespace functions {\n\n// Weather of a city\ntype get_weather = (_: {\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}) => any;\n\n} // namespace functions<|end|>" +
		"<|start|>user<|message|>Weather in Paris?<|end|>" +
		"<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}<|call|>" +
		"<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"temp\": 21}<|end|><|start|>assistant"
	if text != want {
		t.Fatalf("rendered\n%q\nwant\n%q", text, want)
	}
}

// mistralV11ToolsJinja is a Mistral Small 3.2 / Magistral style template:
// [AVAILABLE_TOOLS] before the last user message, calls as
// [TOOL_CALLS]NAME[ARGS]{...}, results as [TOOL_RESULTS]...[/TOOL_RESULTS].
const mistralV11ToolsJinja = `{{- bos_token }}{%- set user_messages = messages | selectattr("role", "equalto", "user") | list %}` +
	`{%- for message in messages %}{%- if message.role == "system" %}{{- "[SYSTEM_PROMPT]" + message.content + "[/SYSTEM_PROMPT]" }}` +
	`{%- elif message.role == "user" %}{%- if tools and message == user_messages[-1] %}{{- "[AVAILABLE_TOOLS]" + (tools | tojson) + "[/AVAILABLE_TOOLS]" }}{%- endif %}{{- "[INST]" + message.content + "[/INST]" }}` +
	`{%- elif message.role == "assistant" %}{%- if message.content %}{{- message.content }}{%- endif %}` +
	`{%- for tc in message.tool_calls %}{{- "[TOOL_CALLS]" + tc.function.name + "[ARGS]" + (tc.function.arguments | tojson) }}{%- endfor %}{{- eos_token }}` +
	`{%- elif message.role == "tool" %}{{- "[TOOL_RESULTS]" + message.content + "[/TOOL_RESULTS]" }}{%- endif %}{%- endfor %}`

// qwen3CoderToolsJinja is a Qwen3-Coder style template: tools as XML in
// the system prompt, calls as <tool_call><function=NAME><parameter=P>
// blocks, values as text (JSON when not strings).
const qwen3CoderToolsJinja = `{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0].role == 'system' %}{{- messages[0].content + '\n\n' }}{%- endif %}` +
	`{{- "# Tools\n\nYou have access to the following functions:\n\n<tools>" }}` +
	`{%- for tool in tools %}{%- set tool = tool.function %}{{- "\n<function>\n<name>" + tool.name + "</name>\n<parameters>" }}` +
	`{%- for param_name, param_fields in tool.parameters.properties.items() %}{{- '\n<parameter>\n<name>' + param_name + '</name>\n<type>' + (param_fields.type | string) + '</type>\n</parameter>' }}{%- endfor %}` +
	`{{- '\n</parameters>\n</function>' }}{%- endfor %}` +
	`{{- "\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n</function>\n</tool_call><|im_end|>\n" }}{%- endif %}` +
	`{%- for message in messages %}{%- if message.role == "user" %}{{- '<|im_start|>user\n' + message.content + '<|im_end|>\n' }}` +
	`{%- elif message.role == "assistant" %}{{- '<|im_start|>assistant\n' + message.content }}{%- for tool_call in message.tool_calls %}{%- set tool_call = tool_call.function %}` +
	`{{- '\n<tool_call>\n<function=' + tool_call.name + '>\n' }}{%- for args_name, args_value in tool_call.arguments.items() %}{{- '<parameter=' + args_name + '>\n' }}` +
	`{%- if args_value is string %}{{- args_value }}{%- else %}{{- args_value | tojson }}{%- endif %}{{- '\n</parameter>\n' }}{%- endfor %}{{- '</function>\n</tool_call>' }}{%- endfor %}{{- '<|im_end|>\n' }}` +
	`{%- elif message.role == "tool" %}{{- '<|im_start|>user\n<tool_response>\n' + message.content + '\n</tool_response><|im_end|>\n' }}{%- endif %}{%- endfor %}` +
	`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`
