<#
.SYNOPSIS
    Writes the MAML help file of the module's binary cmdlets from the help sources in module/help.
.DESCRIPTION
    A binary module's Get-Help reads <assembly>-Help.xml beside the assembly. Parameter names, types, sets,
    positions and pipeline input come from the built cmdlets themselves; prose comes from module/help/<cmdlet>.psd1.
    A cmdlet without a help source, or a parameter without a description, fails the build: help stays complete.
    Run it in a process of its own: it imports the built module.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
$module = Import-Module $ModuleManifest -PassThru -Force
$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
# -WhatIf and -Confirm are listed in syntax and parameters (Get-Help shows them, as for built-in cmdlets), with these texts
# unless a help source gives its own; the other common parameters stay under <CommonParameters>.
$shouldProcess = @{
    WhatIf  = 'Shows what the command would do, after running every check, and changes nothing.'
    Confirm = 'Asks for confirmation before the command writes anything.'
}
$listed = [System.Management.Automation.Cmdlet]::CommonParameters + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters | Where-Object { $_ -notin $shouldProcess.Keys })
function Get-ParameterText($Help, [string] $Name) {
    if ($Help.Parameters -and $Help.Parameters[$Name]) { return [string]$Help.Parameters[$Name] }
    return [string]$shouldProcess[$Name]
}
$problems = [System.Collections.Generic.List[string]]::new()

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$temp = "$OutFile.tmp"
New-Item -ItemType Directory -Force -Path (Split-Path $OutFile) | Out-Null
$w = [System.Xml.XmlWriter]::Create($temp, $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$cmd = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Paras([string[]] $Text) {
    $w.WriteStartElement('maml', 'description', $maml)
    foreach ($t in $Text) { $w.WriteElementString('maml', 'para', $maml, $t) }
    $w.WriteEndElement()
}
function Get-TypeName([type] $Type) {
    if ($Type -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    return $Type.FullName
}
function Write-Parameter($Parameter, $Attribute, [string] $Description, [bool] $InSyntax) {
    $pipeline = @()
    if ($Attribute.ValueFromPipeline) { $pipeline += 'ByValue' }
    if ($Attribute.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
    $w.WriteStartElement('command', 'parameter', $cmd)
    $w.WriteAttributeString('required', ([string]$Attribute.Mandatory).ToLowerInvariant())
    $w.WriteAttributeString('variableLength', ([string]$Parameter.ParameterType.IsArray).ToLowerInvariant())
    $w.WriteAttributeString('globbing', 'false')
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($Attribute.Position -ge 0) { [string]($Attribute.Position + 1) } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $maml, $Parameter.Name)
    Write-Paras @($Description)
    if ($Parameter.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
        $w.WriteStartElement('command', 'parameterValue', $cmd)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', ([string]$Parameter.ParameterType.IsArray).ToLowerInvariant())
        $w.WriteString($Parameter.ParameterType.Name)
        $w.WriteEndElement()
    }
    if (-not $InSyntax) {
        $w.WriteStartElement('dev', 'type', $dev)
        $w.WriteElementString('maml', 'name', $maml, (Get-TypeName $Parameter.ParameterType))
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($command in (Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)) {
    $sourcePath = Join-Path $HelpSource "$($command.Name).psd1"
    if (-not (Test-Path $sourcePath)) { $problems.Add("$($command.Name): no help source at $sourcePath"); continue }
    $help = Import-PowerShellDataFile $sourcePath
    foreach ($key in 'Synopsis', 'Description', 'Examples') {
        if (-not $help[$key]) { $problems.Add("$($command.Name): help source $sourcePath has no $key") }
    }
    $parameters = $command.Parameters.Values | Where-Object { $_.Name -notin $common }
    foreach ($p in $parameters) {
        if (-not $help.Parameters[$p.Name]) { $problems.Add("$($command.Name): parameter -$($p.Name) has no description in $sourcePath") }
    }
    foreach ($name in $help.Parameters.Keys) {
        if ($name -notin $parameters.Name) { $problems.Add("$($command.Name): $sourcePath describes -$name, which the cmdlet does not have") }
    }

    $w.WriteStartElement('command', 'command', $cmd)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmd)
    $w.WriteElementString('command', 'name', $cmd, $command.Name)
    Write-Paras @($help.Synopsis)
    $w.WriteElementString('command', 'verb', $cmd, $command.Verb)
    $w.WriteElementString('command', 'noun', $cmd, $command.Noun)
    $w.WriteEndElement()
    Write-Paras $help.Description

    $w.WriteStartElement('command', 'syntax', $cmd)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmd)
        $w.WriteElementString('maml', 'name', $maml, $command.Name)
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin $listed }) {
            $p = $command.Parameters[$sp.Name]
            $attr = [pscustomobject]@{ Mandatory = $sp.IsMandatory; Position = $sp.Position; ValueFromPipeline = $sp.ValueFromPipeline; ValueFromPipelineByPropertyName = $sp.ValueFromPipelineByPropertyName }
            Write-Parameter $p $attr (Get-ParameterText $help $p.Name) $true
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmd)
    foreach ($p in @($parameters) + @($command.Parameters.Values | Where-Object { $_.Name -in $shouldProcess.Keys }) | Sort-Object Name) {
        $attr = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1
        Write-Parameter $p $attr (Get-ParameterText $help $p.Name) $false
    }
    $w.WriteEndElement()

    foreach ($section in @(@('inputTypes', 'inputType', $help.Inputs), @('returnValues', 'returnValue', $help.Outputs))) {
        $w.WriteStartElement('command', $section[0], $cmd)
        foreach ($item in $section[2]) {
            $w.WriteStartElement('command', $section[1], $cmd)
            $w.WriteStartElement('dev', 'type', $dev)
            $w.WriteElementString('maml', 'name', $maml, $item.Type)
            $w.WriteEndElement()
            Write-Paras @($item.Description)
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }

    if ($help.Notes) {
        $w.WriteStartElement('maml', 'alertSet', $maml)
        $w.WriteStartElement('maml', 'alert', $maml)
        $w.WriteElementString('maml', 'para', $maml, $help.Notes)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $cmd)
    $i = 0
    foreach ($example in $help.Examples) {
        $i++
        $w.WriteStartElement('command', 'example', $cmd)
        $w.WriteElementString('maml', 'title', $maml, "--------- Example ${i}: $($example.Title) ---------")
        $w.WriteElementString('dev', 'code', $dev, $example.Code)
        $w.WriteStartElement('dev', 'remarks', $dev)
        $w.WriteElementString('maml', 'para', $maml, $example.Remarks)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $cmd)
    foreach ($link in $help.Links) {
        $w.WriteStartElement('maml', 'navigationLink', $maml)
        $w.WriteElementString('maml', 'linkText', $maml, $link)
        $w.WriteElementString('maml', 'uri', $maml, '')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Dispose()

if ($problems.Count) {
    Remove-Item $temp -ErrorAction SilentlyContinue
    throw "Help is incomplete:`n  " + ($problems -join "`n  ")
}
Move-Item -Force $temp $OutFile
